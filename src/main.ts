#!/usr/bin/env bun
// The snapvisor executable: `serve` runs the server; other commands are clients of a running server.
import { runCli } from "./plugin/cli/cli.ts";

process.exitCode = await runCli(process.argv.slice(2));
