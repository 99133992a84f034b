// ApplyOp: the meaning of each pure operation, in terms of stdlib.h's exact arithmetic.
#include "stdlib/ops.h"

#include "stdlib/zone.h"

namespace perk {
namespace {

struct OpInfo {
  const char* name;
  int arity;
};

constexpr OpInfo kOps[] = {
#define PERK_OP(name, arity, description) {#name, arity},
#include "stdlib/ops.def"
#undef PERK_OP
};

PerkStatus SetBool(bool b, Value* out) {
  out->i = b ? 1 : 0;
  return PERK_OK;
}

}  // namespace

const char* OpName(OpCode op) { return kOps[static_cast<int>(op)].name; }
int OpArity(OpCode op) { return kOps[static_cast<int>(op)].arity; }

PerkStatus ApplyOp(OpCode op, const Value* a, Value* out) {
  const int64_t x = a[0].i;
  const int64_t y = OpArity(op) > 1 ? a[1].i : 0;
  int64_t* r = &out->i;
  // Results are int64 unless the op yields a string: never leave a stale half behind.
  if (op != OpCode::Lower && op != OpCode::Upper) out->s.clear();
  else out->i = 0;
  switch (op) {
    case OpCode::Add: return perk_int_add(x, y, r);
    case OpCode::Sub: return perk_int_sub(x, y, r);
    case OpCode::Neg: return perk_int_neg(x, r);
    case OpCode::Abs: return perk_int_abs(x, r);
    case OpCode::MulInt: return perk_int_mul(x, y, r);
    case OpCode::DivInt: return perk_int_div(x, y, r);
    case OpCode::ModInt: return perk_int_mod(x, y, r);
    case OpCode::WidenInt: return perk_int_to_decimal(x, r);
    case OpCode::CmpIntDec: {
      const __int128 scaled = static_cast<__int128>(x) * stdlib::kDecimalScale;
      *r = scaled < y ? -1 : scaled > y ? 1 : 0;
      return PERK_OK;
    }
    case OpCode::AddTime: return perk_time_add(x, y, r);
    case OpCode::SubTime: return perk_time_sub(x, y, r);
    case OpCode::MulDec: return perk_dec_mul(x, y, r);
    case OpCode::DivDec: return perk_dec_div(x, y, r);
    case OpCode::MulMoneyInt: return perk_money_mul_int(x, y, r);
    case OpCode::MulMoneyDec: return perk_money_mul_dec(x, y, r);
    case OpCode::DivMoneyInt: return perk_money_div_int(x, y, r);
    case OpCode::DivMoneyDec: return perk_money_div_dec(x, y, r);
    case OpCode::DivMoneyMoney: return perk_money_div_money(x, y, r);
    case OpCode::FloorDec: return perk_dec_floor(x, r);
    case OpCode::CeilDec: return perk_dec_ceil(x, r);
    case OpCode::RoundDec: return perk_dec_round(x, r);
    case OpCode::FloorMoney: return perk_money_floor(x, r);
    case OpCode::CeilMoney: return perk_money_ceil(x, r);
    case OpCode::RoundMoney: return perk_money_round(x, r);
    case OpCode::Min: *r = x < y ? x : y; return PERK_OK;
    case OpCode::Max: *r = x > y ? x : y; return PERK_OK;
    case OpCode::Eq: return SetBool(x == y, out);
    case OpCode::Ne: return SetBool(x != y, out);
    case OpCode::Lt: return SetBool(x < y, out);
    case OpCode::Le: return SetBool(x <= y, out);
    case OpCode::Gt: return SetBool(x > y, out);
    case OpCode::Ge: return SetBool(x >= y, out);
    case OpCode::EqStr: return SetBool(a[0].s == a[1].s, out);
    case OpCode::NeStr: return SetBool(a[0].s != a[1].s, out);
    case OpCode::LtStr: return SetBool(a[0].s < a[1].s, out);
    case OpCode::LeStr: return SetBool(a[0].s <= a[1].s, out);
    case OpCode::GtStr: return SetBool(a[0].s > a[1].s, out);
    case OpCode::GeStr: return SetBool(a[0].s >= a[1].s, out);
    case OpCode::Not: return SetBool(x == 0, out);
    case OpCode::DateOf: *r = perk_time_date(x); return PERK_OK;
    case OpCode::DaysBetween: *r = perk_days_between(x, y); return PERK_OK;
    case OpCode::Anniversary: *r = perk_anniversary(x, y); return PERK_OK;
    case OpCode::DateIn: *r = perk_tz_date(y, x); return PERK_OK;
    case OpCode::HourIn: *r = perk_tz_hour(y, x); return PERK_OK;
    case OpCode::MinuteIn: *r = perk_tz_minute(y, x); return PERK_OK;
    case OpCode::YearOf: *r = perk_date_year(x); return PERK_OK;
    case OpCode::MonthOf: *r = perk_date_month(x); return PERK_OK;
    case OpCode::DayOf: *r = perk_date_day(x); return PERK_OK;
    case OpCode::WeekdayOf: *r = perk_date_weekday(x); return PERK_OK;
    case OpCode::AddTimeIn: return perk_tz_add(a[2].i, x, y, r);
    case OpCode::SubTimeIn: return perk_tz_sub(a[2].i, x, y, r);
    case OpCode::AddDate: return perk_date_add(x, y, r);
    case OpCode::SubDate: return perk_date_sub(x, y, r);
    case OpCode::YearsBetween: *r = perk_years_between(x, y); return PERK_OK;
    case OpCode::Lower: out->s = stdlib::Lower(a[0].s); return PERK_OK;
    case OpCode::Upper: out->s = stdlib::Upper(a[0].s); return PERK_OK;
    case OpCode::StartsWith: return SetBool(stdlib::StartsWith(a[0].s, a[1].s), out);
    case OpCode::Contains: return SetBool(stdlib::Contains(a[0].s, a[1].s), out);
  }
  return PERK_OK;
}

}  // namespace perk
