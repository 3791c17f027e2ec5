#!/usr/bin/env node
import { main } from './main.js';
import { exitOnOutputFailure, processIo } from './io.js';

exitOnOutputFailure();
process.exitCode = await main(process.argv.slice(2), processIo());
