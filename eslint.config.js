// ESLint (flat config): the recommended rules for the shim (browser ES modules) and for the
// Node scripts, tests and bench (which also hand functions to pages: browser globals there too).
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['target/', 'dist/', 'node_modules/', 'collector/data/', '.data/', 'tests/consumer/node_modules/'] },
  js.configs.recommended,
  {
    files: ['js/**/*.js', 'www/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    files: ['scripts/**/*.mjs', 'tests/**/*.mjs', 'bench/**/*.mjs', 'eslint.config.js'],
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { ...globals.node, ...globals.browser } },
  },
  {
    // The consumer fixture apps: bundled for the browser, the React app also rendered in Node.
    files: ['tests/consumer/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.browser, ...globals.node } },
  },
  {
    // Page globals that tests and the bench read inside page.evaluate() callbacks.
    files: ['tests/**/*.mjs', 'bench/**/*.mjs'],
    languageOptions: { globals: { analytics: 'readonly', __seen: 'readonly' } },
  },
  {
    // Its patterns match wasm-bindgen's glue text, indentation included.
    files: ['scripts/bundle.mjs'],
    rules: { 'no-regex-spaces': 'off' },
  },
  {
    rules: {
      // `catch (e) {}` around browser APIs that may throw is deliberate here.
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    },
  },
];
