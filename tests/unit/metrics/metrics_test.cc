#include "metrics/metrics.h"

#include <cmath>
#include <limits>
#include <thread>

#include <gtest/gtest.h>

namespace sluice::metrics {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Metrics, CounterFamilyWritesHelpTypeAndOneLinePerLabelSet) {
  Registry r;
  auto& c = r.AddCounter("sluice_x_total", "Things done.", {"listener", "result"});
  c.With({"smtp", "accepted"}).Inc();
  c.With({"smtp", "accepted"}).Inc(2);
  c.With({"smtp", "refused"}).Inc();
  std::string text = r.Write();
  EXPECT_TRUE(
      Contains(text, "# HELP sluice_x_total Things done.\n# TYPE sluice_x_total counter\n"));
  EXPECT_TRUE(Contains(text, "sluice_x_total{listener=\"smtp\",result=\"accepted\"} 3\n"));
  EXPECT_TRUE(Contains(text, "sluice_x_total{listener=\"smtp\",result=\"refused\"} 1\n"));
}

TEST(Metrics, FamilyWithoutSamplesStillDeclaresItself) {
  Registry r;
  r.AddCounter("sluice_none_total", "Nothing yet.", {"a"});
  EXPECT_EQ(r.Write(), "# HELP sluice_none_total Nothing yet.\n# TYPE sluice_none_total counter\n");
}

// Text format 0.0.4: label values escape \, " and newline; HELP escapes \ and newline.
TEST(Metrics, TextFormat004Escaping) {
  Registry r;
  auto& g = r.AddGauge("sluice_g", "Back\\slash and\nnewline \"kept\".", {"v"});
  g.With({"a\"b\\c\nd"}).Set(1.5);
  std::string text = r.Write();
  EXPECT_TRUE(Contains(text, "# HELP sluice_g Back\\\\slash and\\nnewline \"kept\".\n"));
  EXPECT_TRUE(Contains(text, "sluice_g{v=\"a\\\"b\\\\c\\nd\"} 1.5\n"));
}

TEST(Metrics, ValuesFormatted) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(Metrics, LabelValuesPastTheCapFoldIntoOther) {
  Registry r({.max_label_values = 3});
  auto& c = r.AddCounter("sluice_c_total", "Per campaign.", {"campaign"});
  for (int i = 0; i < 100; ++i) {
    c.With({"camp" + std::to_string(i)}).Inc();
  }
  std::string text = r.Write();
  EXPECT_TRUE(Contains(text, "sluice_c_total{campaign=\"camp0\"} 1\n"));
  EXPECT_TRUE(Contains(text, "sluice_c_total{campaign=\"camp2\"} 1\n"));
  EXPECT_FALSE(Contains(text, "camp3"));
  EXPECT_TRUE(Contains(text, "sluice_c_total{campaign=\"other\"} 97\n"));
  // A value seen before the cap keeps its own series.
  c.With({"camp1"}).Inc();
  EXPECT_TRUE(Contains(r.Write(), "sluice_c_total{campaign=\"camp1\"} 2\n"));
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  static const std::vector<double> bounds = {0.1, 1};
  auto& h = r.AddHistogram("sluice_h_seconds", "Latency.", {"p"}, bounds);
  h.With({"x"}).Observe(0.05);
  h.With({"x"}).Observe(0.1);  // le is inclusive
  h.With({"x"}).Observe(0.5);
  h.With({"x"}).Observe(7);
  std::string text = r.Write();
  EXPECT_TRUE(Contains(text, "# TYPE sluice_h_seconds histogram\n"));
  EXPECT_TRUE(Contains(text, "sluice_h_seconds_bucket{p=\"x\",le=\"0.1\"} 2\n"));
  EXPECT_TRUE(Contains(text, "sluice_h_seconds_bucket{p=\"x\",le=\"1\"} 3\n"));
  EXPECT_TRUE(Contains(text, "sluice_h_seconds_bucket{p=\"x\",le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(Contains(text, "sluice_h_seconds_sum{p=\"x\"} 7.65\n"));
  EXPECT_TRUE(Contains(text, "sluice_h_seconds_count{p=\"x\"} 4\n"));
}

TEST(Metrics, UnlabelledHistogramPutsLeAlone) {
  Registry r;
  static const std::vector<double> bounds = {1};
  r.AddHistogram("sluice_u", "U.", {}, bounds).With({}).Observe(2);
  std::string text = r.Write();
  EXPECT_TRUE(Contains(text, "sluice_u_bucket{le=\"1\"} 0\n"));
  EXPECT_TRUE(Contains(text, "sluice_u_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_TRUE(Contains(text, "sluice_u_count 1\n"));
}

TEST(Metrics, SnapshotGaugesReplaceDropsLabelSetsGone) {
  Registry r;
  auto& g = r.AddSnapshotGauges("sluice_q", "Queued.", {"provider"});
  g.Replace({{{"gmail"}, 5}, {{"yahoo"}, 2}});
  EXPECT_TRUE(Contains(r.Write(), "sluice_q{provider=\"yahoo\"} 2\n"));
  g.Replace({{{"gmail"}, 4}});
  std::string text = r.Write();
  EXPECT_TRUE(Contains(text, "sluice_q{provider=\"gmail\"} 4\n"));
  EXPECT_FALSE(Contains(text, "yahoo"));
}

TEST(Metrics, CallbackGaugeReadAtWrite) {
  Registry r;
  double v = 1;
  r.AddCallbackGauge("sluice_free_bytes", "Free.", [&v] { return v; });
  EXPECT_TRUE(Contains(r.Write(), "sluice_free_bytes 1\n"));
  v = 42;
  EXPECT_TRUE(Contains(r.Write(), "sluice_free_bytes 42\n"));
}

TEST(Metrics, ConcurrentIncrementsAllCount) {
  Registry r;
  auto& c = r.AddCounter("sluice_n_total", "N.", {"t"});
  static const std::vector<double> bounds = {1};
  auto& h = r.AddHistogram("sluice_hh", "H.", {}, bounds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, &h, t] {
      for (int i = 0; i < 10000; ++i) {
        c.With({t % 2 == 0 ? "even" : "odd"}).Inc();
        h.With({}).Observe(0.5);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::string text = r.Write();
  EXPECT_TRUE(Contains(text, "sluice_n_total{t=\"even\"} 20000\n"));
  EXPECT_TRUE(Contains(text, "sluice_n_total{t=\"odd\"} 20000\n"));
  EXPECT_TRUE(Contains(text, "sluice_hh_count 40000\n"));
}

TEST(Metrics, DescribeListsFamiliesInOrder) {
  Registry r;
  r.AddCounter("a_total", "A.");
  r.AddGauge("b", "B.");
  auto d = r.Describe();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].first, "a_total");
  EXPECT_EQ(d[1].second, Type::kGauge);
}

}  // namespace
}  // namespace sluice::metrics
