#include "core/clock.h"

namespace sluice {

namespace {
class SystemClock final : public Clock {
 public:
  Wall::time_point Now() const override { return Wall::now(); }
  Steady::time_point SteadyNow() const override { return Steady::now(); }
};
}  // namespace

const Clock& Clock::System() {
  static const SystemClock clock;
  return clock;
}

}  // namespace sluice
