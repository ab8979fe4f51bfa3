// Compiled by the `layering` test with the ir layer's include root only: an
// include against the flow (ir/ reaching up to frontend/) must not compile.
#include "ir/loop_ir.h"         // a layer's own headers and those below it: found
#include "frontend/parser.h"    // above ir: "No such file or directory"
