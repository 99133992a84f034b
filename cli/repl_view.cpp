// Tables, ledger entries, values and expression text for `perk repl`.
#include "cli/repl_view.h"

#include <fmt/format.h>

#include <algorithm>

#include "runtime/jsonl_sink.h"
#include "stdlib/stdlib.h"

namespace perk::repl {
namespace {

size_t Width(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    size_t len = stdlib::DecodeUtf8(s, i, &c);
    i += len ? len : 1;
    ++n;
  }
  return n;
}

// A value as the ledger writes it, without the quotes of a JSON string unless it is a Perk
// string: `25.00`, `Gold`, `2026-01-05`, `"CY"`.
std::string Bare(const checked::Program& program, Type type, const Value& v) {
  std::string json;
  runtime::AppendValueJson(json, program, type, v);
  if (!IsText(type) && json.size() >= 2 && json.front() == '"') return json.substr(1, json.size() - 2);
  return json;
}

const char* ActionStyle(std::string_view action) {
  if (action == "credit") return style::kGreen;
  if (action == "debit") return style::kRed;
  if (action == "skip") return style::kYellow;
  if (action == "tier" || action == "segment") return style::kCyan;
  return style::kMagenta;
}

}  // namespace

// Each line of the source, with columns counted in code points.
SourceLines SplitSource(std::string_view source) {
  if (source.substr(0, 3) == "\xEF\xBB\xBF") source.remove_prefix(3);
  std::vector<std::u32string> lines(1);
  for (size_t i = 0; i < source.size();) {
    char32_t c;
    size_t len = stdlib::DecodeUtf8(source, i, &c);
    if (len == 0) len = 1, c = U'\uFFFD';
    i += len;
    if (c == '\n') lines.emplace_back();
    else if (c != '\r') lines.back().push_back(c);
  }
  return lines;
}

namespace {

void Utf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    *out += static_cast<char>(c);
  } else if (c < 0x800) {
    *out += static_cast<char>(0xC0 | (c >> 6));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    *out += static_cast<char>(0xE0 | (c >> 12));
    *out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (c >> 18));
    *out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// The furthest (line, column) just past `e` or any part of it.
void Extent(const checked::Expr& e, uint32_t* line, uint32_t* col) {
  if (e.range.line > 0) {
    uint32_t end = e.range.column + e.range.length;
    if (e.range.line > *line || (e.range.line == *line && end > *col)) *line = e.range.line, *col = end;
  }
  for (const auto& a : e.args) Extent(a, line, col);
}

}  // namespace

std::string Paint(bool color, const char* s, std::string_view text) {
  if (!color || !*s) return std::string(text);
  return std::string(s) + std::string(text) + "\033[0m";
}

std::string RenderTable(const std::vector<std::string>& header, const std::vector<std::vector<Cell>>& rows,
                        const std::vector<bool>& right, bool color) {
  std::vector<size_t> widths(header.size());
  for (size_t k = 0; k < header.size(); ++k) widths[k] = Width(header[k]);
  for (const auto& row : rows)
    for (size_t k = 0; k < row.size() && k < widths.size(); ++k) widths[k] = std::max(widths[k], Width(row[k].text));
  auto line = [&](const std::vector<Cell>& cells, bool bold) {
    std::string out = " ";
    for (size_t k = 0; k < cells.size() && k < widths.size(); ++k) {
      if (k > 0) out += " ";
      const std::string& t = cells[k].text;
      std::string pad(widths[k] - Width(t), ' ');
      std::string painted = Paint(color, bold ? style::kBold : cells[k].style, t);
      out += " " + (k < right.size() && right[k] ? pad + painted : painted + pad);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::vector<Cell> head;
  for (const auto& h : header) head.push_back({h, ""});
  std::string out = line(head, true);
  for (const auto& row : rows) out += line(row, false);
  return out;
}

EntryView ViewEntry(const runtime::LedgerEntry& e, const checked::Program& program) {
  using runtime::LedgerAction;
  EntryView view;
  view.seq = static_cast<long long>(e.seq);
  view.trigger = e.day_tick ? "day:" + stdlib::FormatDate(e.day) : std::string(e.event_id);
  view.client = e.client;
  view.time = stdlib::FormatTime(e.time);
  view.rule = e.rule_name;
  view.rule_index = e.rule;
  view.action = runtime::LedgerActionName(e.action);
  auto amount = [&](int64_t v) { return Bare(program, e.amount_type, Value::Int(v)); };
  switch (e.action) {
    case LedgerAction::Credit:
      view.details = fmt::format("{} +{} -> {}", e.target, amount(e.amount), amount(e.balance));
      // [v0.2] A credit cut to what a `partial` budget had left.
      if (e.pending) view.details += fmt::format(" (pending until {})", stdlib::FormatDate(e.until));
      if (e.partial) view.details += " (partial: cut by the budget)";
      break;
    // [v0.2] Day-tick movements of pending and expiring credits.
    case LedgerAction::Release:
      view.details = fmt::format("{} +{} released -> {}", e.target, amount(e.amount), amount(e.balance));
      break;
    case LedgerAction::Expire:
      view.details = fmt::format("{} -{} expired -> {}", e.target, amount(e.amount), amount(e.balance));
      break;
    case LedgerAction::Debit: view.details = fmt::format("{} -{} -> {}", e.target, amount(e.amount), amount(e.balance)); break;
    case LedgerAction::Set:
      // Values as the ledger writes them, but quoted only for string vars.
      view.details = fmt::format("{} = {}", e.target, Bare(program, e.values[0].type, *e.values[0].value));
      break;
    case LedgerAction::Notify:
    case LedgerAction::Emit: {
      view.details = std::string(e.target);
      if (e.values.empty()) break;
      view.details += " {";
      for (size_t k = 0; k < e.values.size(); ++k) {
        if (k) view.details += ", ";
        view.details += fmt::format("{}: ", e.values[k].key);
        runtime::AppendValueJson(view.details, program, e.values[k].type, *e.values[k].value);
      }
      view.details += "}";
      break;
    }
    case LedgerAction::Grant: view.details = std::string(e.target); break;
    case LedgerAction::Send: view.details = fmt::format("{} to {} as {}", e.target, e.send_to, e.sent_id); break;
    case LedgerAction::Tier: view.details = fmt::format("{} -> {}", e.from, e.to); break;
    case LedgerAction::Segment: view.details = fmt::format("{} {}", e.target, e.member ? "joined" : "left"); break;
    case LedgerAction::Skip:
      view.details = fmt::format("{}: {} {} not credited", e.reason, e.target, amount(e.amount));
      break;
  }
  return view;
}

std::string RenderLedger(const std::vector<EntryView>& entries, bool color) {
  std::string out;
  std::vector<std::vector<Cell>> rows;
  std::string trigger;
  // Rows are grouped under a line naming their trigger; the table is rendered per group
  // with shared widths, so build all rows first.
  struct Group {
    std::string title;
    size_t first, count;
  };
  std::vector<Group> groups;
  for (const EntryView& v : entries) {
    rows.push_back({{std::to_string(v.seq), style::kDim},
                    {v.client, ""},
                    {v.rule.empty() ? "-" : v.rule, v.rule.empty() ? style::kDim : ""},
                    {v.action, ActionStyle(v.action)},
                    {v.details, ""}});
    std::string title = v.trigger.rfind("day:", 0) == 0 ? fmt::format("day tick {}", v.trigger.substr(4))
                                                         : fmt::format("{} at {}", v.trigger, v.time);
    if (groups.empty() || title != groups.back().title) groups.push_back({title, rows.size() - 1, 0});
    ++groups.back().count;
  }
  if (rows.empty()) return out;
  std::string table = RenderTable({"seq", "client", "rule", "action", "details"}, rows, {true, false, false, false, false}, color);
  // Split the rendered table back into lines: the header, then one line per row.
  std::vector<std::string> table_lines;
  for (size_t s = 0; s < table.size();) {
    size_t e = table.find('\n', s);
    table_lines.push_back(table.substr(s, e - s + 1));
    s = e + 1;
  }
  out += table_lines[0];
  for (const auto& g : groups) {
    out += Paint(color, style::kDim, "  -- " + g.title) + "\n";
    for (size_t k = 0; k < g.count; ++k) out += table_lines[1 + g.first + k];
  }
  return out;
}

std::string FormatValue(const checked::Program& program, Type type, const Value& v) {
  switch (type) {
    case Type::Int: return std::to_string(v.i);
    case Type::Decimal: return stdlib::FormatDecimal(v.i);
    case Type::Money: return stdlib::FormatMoney(v.i) + (program.currency.empty() ? "" : " " + program.currency);
    case Type::Bool: return v.i ? "true" : "false";
    case Type::String:
    case Type::Client: return stdlib::JsonQuote(v.s);
    case Type::Time: return stdlib::FormatTime(v.i);
    case Type::Date: return stdlib::FormatDate(v.i);
    case Type::Tier:
      if (v.i >= 0 && v.i < static_cast<int64_t>(program.tiers.size())) return program.tiers[v.i].name;
      return "?";
    case Type::Duration: {
      // A duration (a duration param, `n days`) in its largest whole unit.
      static const std::pair<int64_t, const char*> kUnits[] = {{7 * stdlib::kMicrosPerDay, "week"},
                                                               {stdlib::kMicrosPerDay, "day"},
                                                               {stdlib::kMicrosPerHour, "hour"},
                                                               {stdlib::kMicrosPerMinute, "minute"}};
      for (const auto& [micros, name] : kUnits)
        if (v.i != 0 && v.i % micros == 0)
          return fmt::format("{} {}{}", v.i / micros, name, v.i / micros == 1 || v.i / micros == -1 ? "" : "s");
      return fmt::format("{} microseconds", v.i);
    }
    default: return "?";
  }
}

std::string ExprText(const SourceLines& lines, const checked::Expr& e) {
  if (e.range.line == 0) return "";
  uint32_t end_line = 0, end_col = 0;
  Extent(e, &end_line, &end_col);
  std::string out;
  bool space = false;
  for (uint32_t l = e.range.line; l <= end_line && l <= lines.size(); ++l) {
    const std::u32string& text = lines[l - 1];
    size_t from = l == e.range.line ? e.range.column - 1 : 0;
    size_t to = l == end_line ? std::min<size_t>(end_col - 1, text.size()) : text.size();
    if (l != e.range.line) {
      while (from < to && (text[from] == ' ' || text[from] == '\t')) ++from;
      space = true;
    }
    bool in_string = false;
    for (size_t k = from; k < to; ++k) {
      // A comment at the end of a line is not part of the expression.
      if (!in_string && text[k] == '#') break;
      if (text[k] == '"') in_string = !in_string;
      if (in_string && text[k] == '\\' && k + 1 < to) {
        Utf8(text[k++], &out);
      }
      if (space && !out.empty()) out += ' ';
      space = false;
      Utf8(text[k], &out);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace perk::repl
