// The check's Entra job (agent/check_entra.cpp): started only when asked, and once per check (a
// failover group's other side sends FEDAUTHREQUIRED without probing the authority again), and
// what the Authentication keyword of a connection string means.
#include "agent/check_entra.h"

#include <gtest/gtest.h>

#include "tests/unit/support/temp_dir.h"

namespace midiag::agent {
namespace {

TEST(CheckEntra, AuthenticationKeywordsThatMeanEntra) {
  for (const char* a :
       {"ActiveDirectoryPassword", "ActiveDirectoryIntegrated", "ActiveDirectoryManagedIdentity",
        "ActiveDirectoryDefault", "ActiveDirectoryServicePrincipal"})
    EXPECT_TRUE(authentication_is_entra(a)) << a;
  for (const char* a : {"", "SqlPassword", "NotSpecified"})
    EXPECT_FALSE(authentication_is_entra(a)) << a;
}

TEST(CheckEntra, StartedOnlyForEntraAndOnlyWhereTheAuthorityIsProbed) {
  test_support::TempDir dir;
  CheckOptions o;
  // Port 1 on loopback, named in a hosts file: nothing asks a resolver, nothing answers.
  o.hosts_file = dir.file("hosts", "127.0.0.1 login.example.test\n");
  o.resolv_conf = dir.file("resolv.conf", "nameserver 127.0.0.1\n");
  o.entra_authority = {"login.example.test", 1};
  o.timeout = std::chrono::milliseconds(500);
  EXPECT_FALSE(start_entra(o).valid());  // --auth sql
  o.entra = true;
  o.entra_authority_probe = false;  // a failover group's other side
  EXPECT_FALSE(start_entra(o).valid());
  o.entra_authority_probe = true;
  auto job = start_entra(o);
  ASSERT_TRUE(job.valid());
  reports::Evidence ev;
  collect_entra(o, ev, job);
  ASSERT_TRUE(ev.entra);
  EXPECT_EQ(ev.entra->addresses_from, "hosts-file");
  EXPECT_EQ(ev.entra->failed, entra::Step::Tcp);
  ASSERT_EQ(ev.collectors.size(), 1U);
  EXPECT_EQ(ev.collectors[0].name, "entra");
  EXPECT_EQ(ev.collectors[0].status, reports::CollectorStatus::Failed);
  EXPECT_EQ(ev.collectors[0].shortfall, reports::Shortfall::Explained);
}

}  // namespace
}  // namespace midiag::agent
