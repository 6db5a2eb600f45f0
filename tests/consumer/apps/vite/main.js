// Vite emits the wasm files and the lazy parts by itself (`new URL(…, import.meta.url)`, import()).
import { start } from '../shared.js';

start('vite');
