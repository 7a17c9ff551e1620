#include "smtp/server/recipient_policy.h"

#include <gtest/gtest.h>

namespace sluice::smtp {
namespace {

Address Mailbox(const char* s) {
  auto a = ParseMailbox(s);
  EXPECT_TRUE(a.ok()) << s;
  return std::move(a).value();
}

Address BarePostmaster(const char* spelling) {
  Address a;
  a.local = spelling;
  return a;
}

ServerOptions Server() {
  ServerOptions o;
  o.hostname = "MX.example.net";
  o.local_domains = {"local.test", "xn--bcher-kva.example"};
  return o;
}

// RFC 5321 §4.5.1: postmaster, bare or at every domain served, in any case,
// from any client.
TEST(RecipientPolicy, Rfc5321Section4_5_1PostmasterFromAnyone) {
  for (Address a : {BarePostmaster("Postmaster"), Mailbox("POSTMASTER@local.test"),
                    Mailbox("postmaster@Local.TEST"), Mailbox("postmaster@xn--bcher-kva.example"),
                    Mailbox("postmaster@mx.example.net")}) {
    auto d = DecideRecipient(Server(), /*may_relay=*/false, a, 0, "");
    ASSERT_TRUE(d.accept) << a.ToString();
    EXPECT_TRUE(d.postmaster);
    EXPECT_TRUE(d.accept->address.IsBarePostmaster()) << "kept for the Maildir";
  }
}

// RFC 3461 §4.2: the address asked for is the original recipient, never the
// client's ORCPT (it is written into the kept message's Delivered-To).
TEST(RecipientPolicy, Rfc3461Section4_2PostmasterOrcptIsTheAddressAskedFor) {
  auto d = DecideRecipient(Server(), false, Mailbox("PostMaster@LOCAL.test"), kNotifyFailure,
                           "rfc822;ceo@bank.example");
  ASSERT_TRUE(d.accept);
  EXPECT_EQ(d.accept->orcpt, "rfc822;postmaster@local.test");
  EXPECT_EQ(d.accept->notify, kNotifyFailure);
  auto bare = DecideRecipient(Server(), false, BarePostmaster("postmaster"), 0, "");
  EXPECT_EQ(bare.accept->orcpt, "rfc822;postmaster@mx.example.net");
}

TEST(RecipientPolicy, PostmasterGoesToTheConfiguredMailbox) {
  auto o = Server();
  o.postmaster = Mailbox("hostmaster@ops.example");
  auto d = DecideRecipient(o, false, BarePostmaster("postmaster"), 0, "");
  ASSERT_TRUE(d.accept);
  EXPECT_EQ(d.accept->address.ToString(), "hostmaster@ops.example");
}

// No mailboxes at the domains served: 550 5.1.1 (RFC 3463), for every client.
TEST(RecipientPolicy, OtherLocalRecipientsAreRefused) {
  for (bool may_relay : {false, true}) {
    auto d = DecideRecipient(Server(), may_relay, Mailbox("user@local.test"), 0, "");
    EXPECT_FALSE(d.accept);
    EXPECT_EQ(d.refusal.code, 550);
    EXPECT_EQ(d.refusal.enhanced, "5.1.1");
  }
  // "postmaster" elsewhere is an ordinary address.
  auto d = DecideRecipient(Server(), false, Mailbox("postmaster@elsewhere.example"), 0, "");
  EXPECT_EQ(d.refusal.code, 554);
}

// Bounces, complaint reports and unsubscribes come from anyone, to any local
// part of a feedback domain; they are ours to read, never relayed.
TEST(RecipientPolicy, FeedbackDomainsTakeMailFromAnyone) {
  ServerOptions o = Server();
  o.feedback_domains = {"bounces.example.net"};
  for (bool may_relay : {false, true}) {
    auto d = DecideRecipient(o, may_relay, Mailbox("b-anything@Bounces.Example.NET"), 0, "");
    ASSERT_TRUE(d.accept);
    EXPECT_TRUE(d.feedback);
    EXPECT_FALSE(d.postmaster);
  }
  auto d = DecideRecipient(o, false, Mailbox("x@sub.bounces.example.net"), 0, "");
  EXPECT_FALSE(d.accept);
}

// RFC 5321 §3.6.2, §7.1: relaying only for relay clients and authenticated users.
TEST(RecipientPolicy, Rfc5321Section7_1RelayOnlyForTrustedClients) {
  auto denied = DecideRecipient(Server(), false, Mailbox("friend@foreign.example"), 0, "");
  EXPECT_FALSE(denied.accept);
  EXPECT_EQ(denied.refusal.code, 554);
  EXPECT_EQ(denied.refusal.enhanced, "5.7.1");
  auto relayed = DecideRecipient(Server(), true, Mailbox("friend@foreign.example"), kNotifyNever,
                                 "rfc822;friend@foreign.example");
  ASSERT_TRUE(relayed.accept);
  EXPECT_FALSE(relayed.postmaster);
  EXPECT_EQ(relayed.accept->orcpt, "rfc822;friend@foreign.example");  // passed on as given
  EXPECT_EQ(relayed.accept->notify, kNotifyNever);
}

}  // namespace
}  // namespace sluice::smtp
