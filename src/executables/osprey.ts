// The entry of the single-executable server (dist/osprey, made by build.ts): the native library
// is embedded in the binary as a file and handed to src/native before the server module loads.

import library from "../../build/native/libosprey.so" with { type: "file" };
import { useLibrary } from "../native/index.ts";

useLibrary(library);
const { main } = await import("../server.ts");
await main(process.argv.slice(2));
