// Loaded by `bun test` before every test file (bunfig.toml [test] preload): what the code under
// test logs goes to test/support/log.ts, not to the suite's output. See that file for OSPREY_TEST_LOG.

import { installTestLog } from "./log.ts";

installTestLog();
