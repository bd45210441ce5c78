// The entry of the single-executable server (dist/osprey, made by build.ts): the native library
// is embedded in the binary as a file and handed to src/native before the server module loads.

import library from "../../build/native/libosprey.so" with { type: "file" };
import { runMain } from "citty";
import { useLibrary } from "../native/index.ts";

useLibrary(library);
const { command } = await import("../server.ts");
await runMain(command);
