// Reading `perk run`'s inputs with bounded memory: programs are refused past their cap before
// they are read whole, and event lines past --max-line-bytes are skipped unread (docs/guide.md,
// "Input limits"). runtime::LineReader grows its buffer to fit any line; this one never holds
// more than the cap of one line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace perk::cli {

// The compiler's cap on a program's size (compiler/check.cpp), checked here while reading.
constexpr size_t kMaxProgramBytes = size_t{1} << 20;

// Reads at most `max` bytes of `path`: false with *error set when it cannot be read or is
// larger (then only max + 1 bytes were read).
bool ReadFileCapped(const std::string& path, size_t max, std::string* out, std::string* error);

class InputLines {
 public:
  static constexpr size_t kDefaultMaxLine = size_t{1} << 20;

  // nullptr with *error set when the input cannot be opened ("-": standard input).
  static std::unique_ptr<InputLines> Open(const std::string& path, size_t max_line, std::string* error);
  ~InputLines();

  enum class Got {
    Line,     // *line holds the next line, without its line end
    TooLong,  // the next line was longer than the cap: skipped, *skipped_bytes long
    End,      // no more lines; error() says whether the input failed
  };
  Got Next(std::string_view* line, uint64_t* number, uint64_t* skipped_bytes);

  // Bytes consumed through the last line handed out, its newline included.
  uint64_t offset() const;
  // Continues a seekable input after `offset` bytes, numbering the next line `line_number + 1`
  // (resuming durable state). Before the first Next only; false when the input cannot seek.
  bool SeekTo(uint64_t offset, uint64_t line_number);
  int64_t total_bytes() const { return total_bytes_; }  // -1 when unknown (a pipe)
  // After End: why reading stopped early, or "" at a clean end.
  const std::string& error() const { return error_; }

 private:
  InputLines() = default;
  bool Fill();

  int fd_ = -1;
  bool owns_fd_ = false;
  bool eof_ = false;
  size_t max_line_ = kDefaultMaxLine;
  std::string error_;
  std::vector<char> buffer_;
  size_t begin_ = 0, end_ = 0, scanned_ = 0;
  uint64_t line_number_ = 0, bytes_read_ = 0;
  int64_t total_bytes_ = -1;
};

}  // namespace perk::cli
