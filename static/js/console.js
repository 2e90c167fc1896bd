// Small behaviours for the console, loaded under a strict CSP (no inline script, no eval).
"use strict";
