#pragma once
// Durability: ReplaceFileDurably() leaves `path` holding the old text or the
// new, whole, after a crash or a power loss: the new text is written to a
// temporary file, synced, renamed over `path`, and the directory synced.

#include <string>
#include <string_view>

namespace sluice {

// False with `error` set if any step failed (the old file is then untouched).
// The file gets `mode` (0600 for secrets).
bool ReplaceFileDurably(const std::string& path, const std::string& text, std::string* error,
                        unsigned mode = 0644);

// The whole file; false if it cannot be read (a missing file is empty and true).
bool ReadWholeFile(const std::string& path, std::string* text);

// Writes all of `data` to `fd`, over short writes and interruptions; false
// on an error (errno says which).
bool WriteAll(int fd, std::string_view data);

}  // namespace sluice
