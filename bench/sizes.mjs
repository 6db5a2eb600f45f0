// Compressed sizes of what a page downloads for the script tag.
// gzip: GNU `gzip -9 -n` when available (what the size lab used), else node's zlib at level 9
// (a few dozen bytes larger on the same input). brotli: node's zlib at quality 11 with the
// size hint set (equal to `brotli -q 11`).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

let gzipTool;
function gnuGzip(buf) {
  if (gzipTool === undefined) {
    try {
      execFileSync('gzip', ['--version'], { stdio: 'ignore' });
      gzipTool = 'gzip -9 -n';
    } catch {
      gzipTool = 'node zlib level 9';
    }
  }
  if (gzipTool === 'gzip -9 -n')
    return execFileSync('gzip', ['-9', '-n', '-c'], { input: buf, maxBuffer: 64 << 20 }).length;
  return gzipSync(buf, { level: 9 }).length;
}

export function gzipToolName() {
  gnuGzip(Buffer.alloc(0));
  return gzipTool;
}

export function brotliSize(buf) {
  return brotliCompressSync(buf, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
    },
  }).length;
}

/** { raw, gzip, brotli } bytes of a file's contents (a Buffer) or of the file at a path. */
export function fileSizes(bufOrPath) {
  const buf = Buffer.isBuffer(bufOrPath) ? bufOrPath : readFileSync(bufOrPath);
  return { raw: buf.length, gzip: gnuGzip(buf), brotli: brotliSize(buf) };
}

export function addSizes(list) {
  return list.reduce((a, s) => ({ raw: a.raw + s.raw, gzip: a.gzip + s.gzip, brotli: a.brotli + s.brotli }), {
    raw: 0,
    gzip: 0,
    brotli: 0,
  });
}
