#pragma once
// How the C library's allocator treats large buffers (message bodies).
//
// glibc serves a buffer of 128 KiB or more with its own mapping, but raises
// that threshold (up to 32 MiB) each time such a buffer is freed, after which
// message-sized buffers come from the heap and stay resident once freed. A
// fixed threshold keeps every buffer of 1 MiB or more a mapping of its own:
// freed, it is returned to the system at once, and a growing one is moved by
// remapping, not copying. (Smaller buffers, which come and go with every
// message, stay in the heap: a mapping each would cost page faults.)

namespace sluice::runtime {

// Fixes the allocator's mapping threshold at 1 MiB. True if it was set.
bool KeepLargeBuffersMapped();

}  // namespace sluice::runtime
