#pragma once
// Names the calling thread as `top -H`, perf and gdb show it (15 characters at most).

namespace sluice {

void NameThisThread(const char* name);

}  // namespace sluice
