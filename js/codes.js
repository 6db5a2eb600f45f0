// The numbers and names that cross the wasm boundary, in one place. The Rust side is
// src/core/boundary.rs (the numbers) and src/core/notice.rs (NoticeCode); the native test
// tests/it/boundary.rs reads this file and fails when the two disagree. esbuild inlines the
// numbers wherever they are used.

/** `call(method, …)`: the event methods by number (`EventType`). */
export const METHODS = ['track', 'page', 'screen', 'identify', 'group', 'alias'];

/** `get(what)` (`boundary::Read`). */
export const READ_USER_ID = 0;
export const READ_ANONYMOUS_ID = 1;
export const READ_USER_TRAITS = 2;
export const READ_GROUP_ID = 3;
export const READ_GROUP_TRAITS = 4;
export const READ_QUEUED = 5;
export const READ_DEVICE_MODE = 6;

/** `command(what, arg)` (`boundary::Command`). */
export const COMMAND_RESET = 0;
export const COMMAND_SET_ANONYMOUS_ID = 1;
export const COMMAND_SET_USER_TRAITS = 2;
export const COMMAND_FLUSH = 3;
export const COMMAND_SET_CONTEXT_SEGMENTS = 4;
export const COMMAND_ENQUEUE = 5;
export const COMMAND_SET_USER_ID = 6;
export const COMMAND_SET_FAILED_INITIALIZATIONS = 7;
export const COMMAND_SET_METADATA = 8;

/** The `code` of the core's notices (`error` events), by `NoticeCode` number. */
export const NOTICES = [
  'queue_full',
  'event_expired',
  'delivery_failure',
  'event_too_large',
  'invalid_option',
  'invalid_call',
];
