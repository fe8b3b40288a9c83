'use strict';
// Loads the addon built by `node-gyp rebuild` (the package's install script). Throws, with the
// loader's reason, where it was not built (no compiler or no OpenBLAS): callers fall back.
// A plain object over the addon's exports (those are read-only), so tests can observe calls.
module.exports = { ...require('./build/Release/gan_studio_native.node') };
