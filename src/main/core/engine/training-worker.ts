// Placeholder: the training worker is being written in this change.
export {};
