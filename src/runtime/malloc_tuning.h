#pragma once
// How the C library's allocator treats large buffers (message bodies).
//
// glibc serves a buffer of 128 KiB or more with its own mapping, but raises
// that threshold (up to 32 MiB) each time such a buffer is freed, after which
// message-sized buffers come from the heap and stay resident once freed. A
// fixed threshold keeps every large buffer a mapping of its own: freed, it is
// returned to the system at once, and a growing one is moved by remapping,
// not copying.

namespace sluice::runtime {

// Fixes the allocator's mapping threshold at 128 KiB. True if it was set.
bool KeepLargeBuffersMapped();

}  // namespace sluice::runtime
