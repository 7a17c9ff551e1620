// API keys: made, found by their secret only, revoked, kept across a reload.
#include "auth/api_keys.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/durable_file.h"

namespace sluice::auth {
namespace {

std::string TempPath(const char* name) {
  auto p = std::filesystem::temp_directory_path() /
           (std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::remove(p);
  return p;
}

TEST(ApiKeys, AKeyIsFoundByItsSecretAndNothingElse) {
  const auto path = TempPath("keys-find");
  auto store = ApiKeyStore::Load(path);
  ASSERT_TRUE(store);
  auto made = (*store)->Create("acme", 1700000000);
  ASSERT_TRUE(made);
  const auto& [key, secret] = *made;
  EXPECT_EQ(key.id.size(), 16u);
  EXPECT_GE(secret.size(), 3u + 32u);  // "sk_" and at least 128 bits in hex
  auto found = (*store)->Authenticate(secret);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, key.id);
  EXPECT_EQ(found->tenant, "acme");
  EXPECT_FALSE((*store)->Authenticate(secret + "x"));
  EXPECT_FALSE((*store)->Authenticate(key.id));
  EXPECT_FALSE((*store)->Authenticate(""));
  // Only the hash is on disk.
  std::string text;
  ASSERT_TRUE(ReadWholeFile(path, &text));
  EXPECT_EQ(text.find(secret.substr(3)), std::string::npos);
  EXPECT_NE(text.find(key.id + " tenant:acme "), std::string::npos);
  std::filesystem::remove(path);
}

TEST(ApiKeys, KeysOutliveAReloadAndRevokedOnesDoNot) {
  const auto path = TempPath("keys-reload");
  std::string op_secret;
  std::string tenant_secret;
  std::string tenant_id;
  {
    auto store = ApiKeyStore::Load(path);
    ASSERT_TRUE(store);
    op_secret = (*store)->Create("", 1)->second;
    auto t = (*store)->Create("beta", 2);
    tenant_secret = t->second;
    tenant_id = t->first.id;
  }
  auto store = ApiKeyStore::Load(path);
  ASSERT_TRUE(store) << store.error();
  auto op = (*store)->Authenticate(op_secret);
  ASSERT_TRUE(op);
  EXPECT_TRUE(op->operator_key());
  ASSERT_TRUE((*store)->Authenticate(tenant_secret));
  EXPECT_EQ((*store)->List().size(), 2u);
  auto gone = (*store)->Revoke(tenant_id);
  ASSERT_TRUE(gone);
  EXPECT_TRUE(*gone);
  EXPECT_FALSE((*store)->Authenticate(tenant_secret));
  EXPECT_FALSE(*(*store)->Revoke(tenant_id));  // no longer there
  auto again = ApiKeyStore::Load(path);
  ASSERT_TRUE(again);
  EXPECT_FALSE((*again)->Authenticate(tenant_secret));
  EXPECT_TRUE((*again)->Authenticate(op_secret));
  std::filesystem::remove(path);
}

TEST(ApiKeys, AMalformedFileIsRefusedWithItsLine) {
  const auto path = TempPath("keys-bad");
  std::ofstream(path) << "# comment\n\n0123456789abcdef operator nothex 1\n";
  auto store = ApiKeyStore::Load(path);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().find(":3:"), std::string::npos) << store.error();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sluice::auth
