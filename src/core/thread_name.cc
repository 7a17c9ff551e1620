#include "core/thread_name.h"

#include <pthread.h>

#include <cstring>
#include <string>

namespace sluice {

void NameThisThread(const char* name) {
  // The kernel keeps 15 characters and a terminator; longer names are refused.
  std::string n(name, strnlen(name, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

}  // namespace sluice
