// SmallVec keeps N elements inline and moves to the heap past them; copies and moves of both
// shapes must keep every element.
#include <catch2/catch.hpp>

#include <vector>

#include "runtime/small_vec.h"

using perk::runtime::SmallVec;

namespace {
template <typename V>
std::vector<int64_t> Items(const V& v) {
  return std::vector<int64_t>(v.begin(), v.end());
}
}  // namespace

TEST_CASE("SmallVec grows past its inline capacity and keeps its elements") {
  SmallVec<int64_t, 2> v;
  std::vector<int64_t> oracle;
  for (int64_t k = 0; k < 40; ++k) {
    v.push_back(k * 7);
    oracle.push_back(k * 7);
    REQUIRE(Items(v) == oracle);
  }
  v.pop_back();
  oracle.pop_back();
  CHECK(Items(v) == oracle);
  CHECK(v.back() == 38 * 7);
  v.assign(3, 5);
  CHECK(Items(v) == std::vector<int64_t>{5, 5, 5});
  v.resize(5, 9);
  CHECK(Items(v) == std::vector<int64_t>{5, 5, 5, 9, 9});
}

TEST_CASE("SmallVec copies and moves inline and heap contents") {
  for (size_t n : {0, 1, 3, 4, 5, 17}) {
    SmallVec<int64_t, 4> a;
    for (size_t k = 0; k < n; ++k) a.push_back(static_cast<int64_t>(100 + k));
    const auto items = Items(a);
    SmallVec<int64_t, 4> copy(a);
    CHECK(Items(copy) == items);
    CHECK(copy == a);
    SmallVec<int64_t, 4> assigned = {1, 2, 3, 4, 5, 6};
    assigned = a;
    CHECK(Items(assigned) == items);
    SmallVec<int64_t, 4> moved(std::move(copy));
    CHECK(Items(moved) == items);
    CHECK(copy.empty());
    SmallVec<int64_t, 4> move_assigned = {7};
    move_assigned = std::move(moved);
    CHECK(Items(move_assigned) == items);
    // A moved-from vector is usable again.
    moved.push_back(1);
    CHECK(Items(moved) == std::vector<int64_t>{1});
    if (n) {
      a[0] = -1;
      CHECK(!(a == assigned));
    }
  }
}

TEST_CASE("InlineVec spills values that own memory to the heap and keeps them") {
  using perk::runtime::InlineVec;
  const std::string long_text(100, 'x');  // past std::string's own inline buffer
  InlineVec<std::string, 2> v;
  std::vector<std::string> oracle;
  for (int k = 0; k < 9; ++k) {
    std::string s = std::to_string(k) + (k % 2 ? long_text : "");
    v.push_back(s);
    oracle.push_back(s);
    REQUIRE(std::vector<std::string>(v.begin(), v.end()) == oracle);
  }
  InlineVec<std::string, 2> copy = v;
  CHECK(copy == v);
  InlineVec<std::string, 2> moved = std::move(copy);
  CHECK(std::vector<std::string>(moved.begin(), moved.end()) == oracle);
  moved.resize(1);
  CHECK(moved.size() == 1);
  CHECK(moved[0] == "0");
  // Inline only: copies are independent of each other.
  InlineVec<std::string, 4> small;
  small.resize(2);
  small[1] = long_text;
  InlineVec<std::string, 4> other = small;
  other[1] = "changed";
  CHECK(small[1] == long_text);
  CHECK(!(other == small));
  small.clear();
  CHECK(small.empty());
}
