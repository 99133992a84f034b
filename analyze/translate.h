// Checked expressions as Z3 linear integer arithmetic over Perk's scaled integers (cents,
// micro-units, microseconds, day numbers). Internal to analyze/.
//
// Soundness: every expression the translation cannot express exactly (a product of two
// unknowns, a calendar step in a zone, a string order) becomes a fresh variable constrained
// only by its type's range, so a formula found unsatisfiable is unsatisfiable for every real
// client and record too. Overflow and division by zero are runtime errors that stop a firing,
// so reading the arithmetic over unbounded integers only adds executions that cannot happen.
#pragma once

#include <z3++.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "compiler/checked.h"

namespace perk::analyze {

// Over: any client in any state. Pinned: a new client's first record, in the state a client
// starts with (wallets 0, vars at their initial values, base tier, no segments), with the
// trigger event the only one its aggregates hold; the translation then also says whether it
// was exact, so that a model of it can be written back as a witness stream.
enum class Mode : uint8_t { Over, Pinned };

class Translator {
 public:
  Translator(z3::context& ctx, const checked::Program& program);

  // Starts a query scope for rules with `rule`'s trigger; variables of the event, the client
  // and the state are shared by every rule translated until the next Begin.
  void Begin(const checked::Rule& rule, Mode mode);

  z3::expr Bool(const checked::Expr& e);
  z3::expr Int(const checked::Expr& e);
  // The state a rule's actions write: later reads of it see a new value.
  void Written(const checked::Action& action);

  // Side conditions: the type ranges of variables, the pinned start state.
  const std::vector<z3::expr>& constraints() const { return constraints_; }
  bool exact() const { return exact_; }
  void ResetExact() { exact_ = true; }

  // Facts proved before the rules are translated: unreachable tiers, segments never entered.
  std::set<int> unreachable_tiers;
  std::set<int> never_entered_segments;
  // In Pinned mode: the wallets, vars and badges some rule on the trigger writes (reading them
  // after that rule is not the start state).
  std::set<std::string> written_by_trigger;
  // Take the numbers of events and attributes as non-negative (the question "can this credit be
  // negative" means for amounts that make sense, not for a negative deposit).
  bool nonnegative_inputs = false;

  // Writes a model back as a witness: the client's profile record (when it sets attributes)
  // and the trigger event, at the model's time.
  std::vector<std::string> WitnessRecords(const z3::model& model, const std::string& id) const;
  // A string variable's value in a model (a constant of the program, or a made-up text).
  std::string StringOf(int64_t code) const;

 private:
  struct Val {
    z3::expr e;
    bool is_bool;
  };
  Val T(const checked::Expr& e);
  Val Op(const checked::Expr& e);
  z3::expr Var(const std::string& name, Type type);
  z3::expr Fresh(Type type);
  z3::expr Inexact(Type type) {
    exact_ = false;
    return Fresh(type);
  }
  z3::expr StringCode(const std::string& s);
  z3::expr State(const std::string& key, Type type, int64_t start, bool start_is_string, const std::string& start_text);
  z3::expr Aggregate(const checked::Expr& e);
  z3::expr AsBool(const Val& v);
  z3::expr AsInt(const Val& v);
  z3::expr DivRound(const z3::expr& n, int64_t d);
  z3::expr DivTrunc(const z3::expr& n, int64_t d);
  bool ConstOf(const checked::Expr& e, int64_t* out);

  z3::context& ctx_;
  const checked::Program& program_;
  const checked::Rule* rule_ = nullptr;
  Mode mode_ = Mode::Over;
  bool exact_ = true;
  int fresh_ = 0;
  std::map<std::string, z3::expr> vars_;
  std::map<std::string, int> versions_;
  std::map<std::string, int64_t> string_codes_;
  std::vector<std::string> strings_;  // by code - 1
  std::vector<z3::expr> constraints_;
  // Variables a witness writes back: (event field index | attribute index) to variable.
  std::map<int, z3::expr> event_fields_, attrs_, attr_set_;
};

}  // namespace perk::analyze
