#include "auth/credentials.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

std::string TempPath(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("sluice-cred-") + std::to_string(::getpid()) + "-" + name))
      .string();
}

TEST(Credentials, HashStoreVerifyReload) {
  std::string path = TempPath("users");
  std::filesystem::remove(path);
  auto h = HashPassword("correct horse");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.value().rfind("$argon2id$", 0), 0u);
  ASSERT_TRUE(StoreUser(path, "alice", h.value()).ok());
  auto store = CredentialStore::Load(path);
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_TRUE(store.value()->Verify("alice", "correct horse"));
  EXPECT_FALSE(store.value()->Verify("alice", "wrong"));
  EXPECT_FALSE(store.value()->Verify("bob", "correct horse"));

  // Replacing a user keeps one line for them; Reload picks the new password up.
  ASSERT_TRUE(StoreUser(path, "alice", HashPassword("new").value()).ok());
  ASSERT_TRUE(StoreUser(path, "bob", HashPassword("pw").value()).ok());
  ASSERT_TRUE(store.value()->Reload().ok());
  EXPECT_EQ(store.value()->size(), 2u);
  EXPECT_TRUE(store.value()->Verify("alice", "new"));
  EXPECT_FALSE(store.value()->Verify("alice", "correct horse"));
  std::filesystem::remove(path);
}

TEST(Credentials, PlaintextIsRefusedAndReloadKeepsOldUsers) {
  std::string path = TempPath("bad");
  { std::ofstream(path) << "# comment\n\nalice:" << HashPassword("pw").value() << "\n"; }
  auto store = CredentialStore::Load(path);
  ASSERT_TRUE(store.ok());
  { std::ofstream(path) << "alice:plaintext\n"; }
  auto r = store.value()->Reload();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(":1:"), std::string::npos) << r.error();
  EXPECT_TRUE(store.value()->Verify("alice", "pw"));
  std::filesystem::remove(path);
}

TEST(Credentials, UserNames) {
  EXPECT_TRUE(ValidUserName("alice@example.com"));
  EXPECT_FALSE(ValidUserName(""));
  EXPECT_FALSE(ValidUserName("a:b"));
  EXPECT_FALSE(ValidUserName(std::string(65, 'a')));
}

}  // namespace
}  // namespace sluice::auth
