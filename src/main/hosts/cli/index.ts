// Placeholder: the CLI is being written in this change.
export {};
