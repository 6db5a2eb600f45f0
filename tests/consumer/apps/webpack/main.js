// webpack 5 emits the wasm files (asset modules) and the lazy parts (chunks) by itself.
import { start } from '../shared.js';

start('webpack');
