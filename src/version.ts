// Osprey's version, from package.json: `osprey --version`, `osprey-cli --version`, STATS and INFO.

import pkg from "../package.json" with { type: "json" };

/** The package version, e.g. "0.1.0". */
export const version: string = pkg.version;
