#pragma once
// Assertion tiers: SLUICE_ASSERT (debug invariant), SLUICE_RELEASE_ASSERT
// (always checked), SLUICE_BUG (logged in release, aborts in debug).
// Never assert on external input.

#include <cstdio>
#include <cstdlib>

namespace sluice::detail {
[[noreturn]] inline void AssertFail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
void ReportBug(const char* what, const char* file, int line);
}  // namespace sluice::detail

#define SLUICE_RELEASE_ASSERT(x) \
  ((x) ? (void)0 : ::sluice::detail::AssertFail(#x, __FILE__, __LINE__))
#ifdef NDEBUG
#define SLUICE_ASSERT(x) ((void)0)
#define SLUICE_BUG(what) ::sluice::detail::ReportBug(what, __FILE__, __LINE__)
#else
#define SLUICE_ASSERT(x) SLUICE_RELEASE_ASSERT(x)
#define SLUICE_BUG(what) ::sluice::detail::AssertFail(what, __FILE__, __LINE__)
#endif
