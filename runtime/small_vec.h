// A vector of trivially copyable values that keeps its first N elements inside the object.
// A client's wallets, tier holds and segment flags are a handful of integers read on every
// record and every day tick; stored inline they sit in the client's own cache lines instead of
// a heap block of their own (one dependent cache miss less per array).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

namespace perk::runtime {

template <typename T, uint32_t N>
class SmallVec {
  static_assert(std::is_trivially_copyable_v<T>, "SmallVec copies its elements with memcpy");

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVec() = default;
  SmallVec(std::initializer_list<T> values) { *this = values; }
  SmallVec& operator=(std::initializer_list<T> values) {
    size_ = 0;
    reserve(values.size());
    for (const T& v : values) push_back(v);
    return *this;
  }
  SmallVec(const SmallVec& other) { CopyFrom(other); }
  SmallVec(SmallVec&& other) noexcept { MoveFrom(other); }
  SmallVec& operator=(const SmallVec& other) {
    if (this != &other) {
      size_ = 0;
      CopyFrom(other);
    }
    return *this;
  }
  SmallVec& operator=(SmallVec&& other) noexcept {
    if (this != &other) {
      Release();
      MoveFrom(other);
    }
    return *this;
  }
  ~SmallVec() { Release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return heap_ ? heap_ : inline_; }
  const T* data() const { return heap_ ? heap_ : inline_; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T& operator[](size_t k) { return data()[k]; }
  const T& operator[](size_t k) const { return data()[k]; }
  T& back() { return data()[size_ - 1]; }
  const T& back() const { return data()[size_ - 1]; }

  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n <= capacity_) return;
    T* grown = new T[n];
    if (size_) std::memcpy(grown, data(), size_ * sizeof(T));
    delete[] heap_;
    heap_ = grown;
    capacity_ = static_cast<uint32_t>(n);
  }
  void resize(size_t n, T value = T{}) {
    reserve(n);
    T* d = data();
    for (size_t k = size_; k < n; ++k) d[k] = value;
    size_ = static_cast<uint32_t>(n);
  }
  void assign(size_t n, T value) {
    size_ = 0;
    resize(n, value);
  }
  void push_back(T value) {
    if (size_ == capacity_) reserve(std::max<size_t>(2 * capacity_, 1));
    data()[size_++] = value;
  }
  void pop_back() { --size_; }
  T* erase(T* first, T* last) {
    T* e = end();
    if (first != last) std::memmove(first, last, static_cast<size_t>(e - last) * sizeof(T));
    size_ -= static_cast<uint32_t>(last - first);
    return first;
  }

  bool operator==(const SmallVec& other) const {
    return size_ == other.size_ && std::equal(begin(), end(), other.begin());
  }

 private:
  void CopyFrom(const SmallVec& other) {
    reserve(other.size_);
    if (other.size_) std::memcpy(data(), other.data(), other.size_ * sizeof(T));
    size_ = other.size_;
  }
  void MoveFrom(SmallVec& other) {
    if (other.heap_) {
      heap_ = other.heap_;
      capacity_ = other.capacity_;
      other.heap_ = nullptr;
      other.capacity_ = N;
    } else if (other.size_) {
      std::memcpy(inline_, other.inline_, other.size_ * sizeof(T));
    }
    size_ = other.size_;
    other.size_ = 0;
  }
  void Release() {
    delete[] heap_;
    heap_ = nullptr;
    capacity_ = N;
    size_ = 0;
  }

  T* heap_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = N;
  T inline_[N];
};

}  // namespace perk::runtime

namespace perk::runtime {

// The same idea for values that own memory (a client's attributes and vars, whose strings
// are mostly short enough for the string's own inline buffer): the first N elements live in
// the object, more spill the whole array to a std::vector.
template <typename T, uint32_t N>
class InlineVec {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return spilled_ ? heap_.data() : inline_; }
  const T* data() const { return spilled_ ? heap_.data() : inline_; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T& operator[](size_t k) { return data()[k]; }
  const T& operator[](size_t k) const { return data()[k]; }
  T& back() { return data()[size_ - 1]; }

  void reserve(size_t n) {
    if (n > N) Spill(n);
  }
  void push_back(T value) {
    if (!spilled_ && size_ == N) Spill(N + 1);
    if (spilled_) heap_.push_back(std::move(value));
    else inline_[size_] = std::move(value);
    ++size_;
  }
  void resize(size_t n) {
    if (n > N) Spill(n);
    if (spilled_) heap_.resize(n);
    else
      for (size_t k = n; k < size_; ++k) inline_[k] = T{};
    size_ = static_cast<uint32_t>(n);
  }
  void clear() { resize(0); }

  bool operator==(const InlineVec& other) const {
    return size_ == other.size_ && std::equal(begin(), end(), other.begin());
  }

 private:
  void Spill(size_t n) {
    if (spilled_) {
      heap_.reserve(n);
      return;
    }
    heap_.reserve(n);
    for (size_t k = 0; k < size_; ++k) heap_.push_back(std::move(inline_[k]));
    for (auto& v : inline_) v = T{};
    spilled_ = true;
  }

  // The size and the flag come first: data() reads the flag, and then usually the first
  // elements, which are then on its cache line (a day tick reading one attribute of each
  // client missed twice when the flag sat after the inline elements).
  uint32_t size_ = 0;
  bool spilled_ = false;
  T inline_[N]{};
  std::vector<T> heap_;  // all the elements once there are more than N
};

}  // namespace perk::runtime
