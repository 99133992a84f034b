// Pure operations on values, shared by the checker's constant folder and the interpreter.
#pragma once

#include "stdlib/stdlib.h"
#include "stdlib/value.h"

namespace perk {

enum class OpCode : uint8_t {
#define PERK_OP(name, arity, description) name,
#include "stdlib/ops.def"
#undef PERK_OP
};

const char* OpName(OpCode op);
int OpArity(OpCode op);

// Applies `op` to `args` (OpArity(op) of them). Never throws.
PerkStatus ApplyOp(OpCode op, const Value* args, Value* out);

}  // namespace perk
