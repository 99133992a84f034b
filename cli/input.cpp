// Bounded reading of programs and event lines: see input.h.
#include "cli/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace perk::cli {

namespace {
constexpr size_t kBlock = size_t{1} << 20;
}

bool ReadFileCapped(const std::string& path, size_t max, std::string* out, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    *error = fd >= 0 ? "cannot read " + path + ": it is a directory" : "cannot read " + path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  out->clear();
  char block[65536];
  for (;;) {
    ssize_t n = ::read(fd, block, std::min(sizeof block, max + 1 - out->size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(block, static_cast<size_t>(n));
    if (out->size() > max) {
      ::close(fd);
      *error = path + " is larger than " + std::to_string(max) + " bytes, the most Perk reads";
      return false;
    }
  }
  ::close(fd);
  return true;
}

std::unique_ptr<InputLines> InputLines::Open(const std::string& path, size_t max_line, std::string* error) {
  std::unique_ptr<InputLines> in(new InputLines());
  if (path == "-") {
    in->fd_ = STDIN_FILENO;
  } else {
    in->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in->fd_ < 0) {
      *error = "cannot open " + path + ": " + std::strerror(errno);
      return nullptr;
    }
    in->owns_fd_ = true;
  }
  struct stat st {};
  if (::fstat(in->fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      *error = "cannot read " + path + ": it is a directory";
      return nullptr;
    }
    if (S_ISREG(st.st_mode)) in->total_bytes_ = static_cast<int64_t>(st.st_size);
  }
  in->max_line_ = max_line;
  // Room for the longest line allowed plus a block after it.
  in->buffer_.resize(max_line + kBlock + 2);
  return in;
}

InputLines::~InputLines() {
  if (owns_fd_) ::close(fd_);
}

// Reads one more block after the unread bytes; false at the end of input or on an error.
bool InputLines::Fill() {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    scanned_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error_ = std::string("read failed: ") + std::strerror(errno);
    eof_ = true;
    return false;
  }
}

InputLines::Got InputLines::Next(std::string_view* line, uint64_t* number, uint64_t* skipped_bytes) {
  for (;;) {
    const char* base = buffer_.data();
    const void* newline = scanned_ < end_ ? std::memchr(base + scanned_, '\n', end_ - scanned_) : nullptr;
    size_t line_end;
    if (newline) {
      line_end = static_cast<size_t>(static_cast<const char*>(newline) - base);
    } else if (end_ - begin_ > max_line_ + 1) {  // + 1: a CR before the newline is not data
      // Too long: skip to the next newline without keeping the bytes. JSON Lines never holds
      // a NUL byte, so one means the input is binary (e.g. /dev/zero): stop rather than skip
      // forever.
      uint64_t skipped = end_ - begin_;
      bool binary = std::memchr(base + begin_, '\0', end_ - begin_) != nullptr;
      begin_ = scanned_ = end_;
      for (;;) {
        if (binary) {
          error_ = "line " + std::to_string(line_number_ + 1) +
                   " holds a NUL byte: the input is not JSON Lines text";
          return Got::End;
        }
        if (begin_ == end_ && !Fill()) break;
        base = buffer_.data();
        const void* nl = std::memchr(base + begin_, '\n', end_ - begin_);
        const size_t stop = nl ? static_cast<size_t>(static_cast<const char*>(nl) - base) : end_;
        binary = std::memchr(base + begin_, '\0', stop - begin_) != nullptr;
        skipped += stop - begin_;
        begin_ = scanned_ = nl ? stop + 1 : end_;
        if (nl && !binary) break;
      }
      if (!error_.empty()) return Got::End;
      *number = ++line_number_;
      *skipped_bytes = skipped;
      return Got::TooLong;
    } else if (!eof_) {
      scanned_ = end_;
      Fill();
      continue;
    } else if (begin_ < end_) {
      line_end = end_;  // the last line, without a newline
    } else {
      return Got::End;
    }
    size_t start = begin_;
    // A UTF-8 byte order mark, which some editors put at the start of a file, is not data.
    if (line_number_ == 0 && line_end - start >= 3 && std::memcmp(base + start, "\xEF\xBB\xBF", 3) == 0) start += 3;
    size_t length = line_end - start;
    if (length > 0 && base[start + length - 1] == '\r') --length;
    *number = ++line_number_;
    begin_ = scanned_ = std::min(line_end + 1, end_);
    if (length > max_line_) {  // it fit in the buffer after all, but is over the cap
      *skipped_bytes = length;
      return Got::TooLong;
    }
    *line = std::string_view(base + start, length);
    return Got::Line;
  }
}

uint64_t InputLines::offset() const { return bytes_read_ - (end_ - begin_); }

bool InputLines::SeekTo(uint64_t offset, uint64_t line_number) {
  if (bytes_read_ != 0 || ::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) return false;
  bytes_read_ = offset;
  line_number_ = line_number;
  return true;
}

}  // namespace perk::cli
