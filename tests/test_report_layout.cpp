// Issue 18: report.html at 1280 px laid its charts in one 600-px column with the right half of
// the page empty, and labels sat on curves and ticks (the "best epoch" label on the accuracy
// curve at its best epoch, the log-scale axis title on the tick labels of the learning rate).
// Headless Chromium renders the report with a measuring script added to a copy of it (the
// report itself has no scripts): the figures' boxes, and every text box of every chart against
// the other text boxes, the curves and the tick marks, all in screen pixels.
#define BOOST_TEST_MODULE report_layout
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chromium.hpp"
#include "cli.hpp"
#include "plexus/core/reporting/report.hpp"
#include "plexus/core/training/history.hpp"

namespace fs = std::filesystem;
using plexus::test::read_text;
using plexus::test::run_chromium;
using plexus::test::TempDir;
using namespace plexus::core;

namespace {

// A real run (tests/histories/plateau_cut_to_1e-9.csv): its training accuracy peaks at the
// best epoch, 11, where the old label sat, and a plateau schedule cut its rate from 0.01 to
// 1e-9 (a log axis with wide tick labels).
ReportData cut_rate_run() {
    const std::string path =
        std::string(PLEXUS_TEST_SOURCE_DIR) + "/tests/histories/plateau_cut_to_1e-9.csv";
    ReportData d;
    d.title = "layout";
    d.history = parse_history_csv(read_text(path), path);
    d.best_epoch = 11;
    d.best_key = "val_loss";
    d.main_metric = "accuracy";
    d.class_names = {"a", "b", "c"};
    d.confusion = {{5, 1, 0}, {2, 3, 1}, {0, 2, 6}};
    return d;
}

// Appended to a copy of the report: writes one line per finding into <pre id="layout">.
const char* kMeasure = R"js(<script>
(() => {
  // A desktop browser 1280 px wide gives this long page a classic scrollbar of about 17 px;
  // headless Chromium hides it (--hide-scrollbars), so the body gets the width it really has.
  document.body.style.width = (1280 - 17) + 'px';
  const out = [];
  const box = r => [r.left, r.top, r.right, r.bottom].map(v => v.toFixed(1)).join(' ');
  for (const f of document.querySelectorAll('#curves figure'))
    out.push('figure ' + box(f.getBoundingClientRect()));
  const inside = (x, y, r) => x > r.left && x < r.right && y > r.top && y < r.bottom;
  // Labels closer than 2 px read as one: they count as overlapping.
  const hit = (a, b) => a.left < b.right + 2 && b.left < a.right + 2 &&
                        a.top < b.bottom + 2 && b.top < a.bottom + 2;
  document.querySelectorAll('svg.chart').forEach((svg, n) => {
    const texts = [...svg.querySelectorAll('text')]
        .map(t => ({s: t.textContent, r: t.getBoundingClientRect()}));
    out.push(`chart ${n}: ${texts.length} texts`);
    for (let i = 0; i < texts.length; ++i)
      for (let j = i + 1; j < texts.length; ++j)
        if (hit(texts[i].r, texts[j].r))
          out.push(`overlap chart ${n}: "${texts[i].s}" on "${texts[j].s}"`);
    const m = svg.getScreenCTM();
    const at = (x, y) => new DOMPoint(x, y).matrixTransform(m);
    const found = new Set();
    const trace = (what, p) => {
      for (let k = 0; k + 1 < p.length; ++k)
        for (let s = 0; s <= 20; ++s) {
          const x = p[k].x + (p[k + 1].x - p[k].x) * s / 20;
          const y = p[k].y + (p[k + 1].y - p[k].y) * s / 20;
          for (const t of texts)
            if (inside(x, y, t.r)) found.add(`${what} chart ${n}: "${t.s}"`);
        }
    };
    for (const pl of svg.querySelectorAll('polyline'))
      trace('curve under', [...pl.points].map(q => at(q.x, q.y)));
    for (const l of svg.querySelectorAll('line.axis'))
      trace('tick under', [at(l.x1.baseVal.value, l.y1.baseVal.value),
                           at(l.x2.baseVal.value, l.y2.baseVal.value)]);
    out.push(...found);
  });
  const pre = document.createElement('pre');
  pre.id = 'layout';
  pre.textContent = out.join('\n');
  document.body.appendChild(pre);
})();
</script>)js";

struct Layout {
    std::vector<std::vector<double>> figures;  // left, top, right, bottom
    std::vector<std::string> problems;
    std::size_t charts = 0;
    std::string log;
};

Layout measure(const fs::path& dir, const ReportData& d) {
    std::string html = render_report(d);
    html.insert(html.rfind("</body>"), kMeasure);
    const fs::path page = dir / "measured.html";
    std::ofstream(page) << html;
    const auto b = run_chromium(dir, page, "--dump-dom");
    Layout l;
    l.log = b.log;
    BOOST_TEST(b.console.empty(), "the page logged to the console:\n" << b.log);
    const auto begin = b.log.find("<pre id=\"layout\">"), end = b.log.find("</pre>", begin);
    BOOST_REQUIRE_MESSAGE(begin != std::string::npos && end != std::string::npos,
                          "the measuring script wrote nothing:\n" << b.log);
    std::stringstream lines(b.log.substr(begin + 17, end - begin - 17));
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("figure ", 0) == 0) {
            std::stringstream nums(line.substr(7));
            std::vector<double> box(4);
            for (double& v : box) nums >> v;
            l.figures.push_back(box);
        } else if (line.rfind("chart ", 0) == 0) {
            ++l.charts;
        } else if (!line.empty()) {
            l.problems.push_back(line);
        }
    }
    return l;
}

}  // namespace

BOOST_AUTO_TEST_CASE(charts_fill_two_columns_at_1280_px) {
    TempDir dir("report-layout-grid");
    const Layout l = measure(dir.path, cut_rate_run());
    BOOST_REQUIRE_EQUAL(l.figures.size(), 3u);  // loss, accuracy, learning rate
    const auto& a = l.figures[0];
    const auto& b = l.figures[1];
    BOOST_TEST(a[1] == b[1], "loss and accuracy are not side by side");
    BOOST_TEST(b[0] >= 640.0, "the right half of the page is empty: second chart at x " << b[0]);
    BOOST_TEST(b[0] >= a[2], "the charts overlap");
    for (const auto& f : l.figures) {
        BOOST_TEST(f[2] <= 1280.0, "a chart runs off the page: right edge " << f[2]);
        BOOST_TEST(f[2] - f[0] >= 460.0, "a chart is too narrow to read: " << f[2] - f[0]);
    }
    BOOST_TEST(l.figures[2][1] > a[3], "the third chart does not start a new row");
}

BOOST_AUTO_TEST_CASE(no_label_overlaps_a_curve_a_tick_or_another_label) {
    TempDir dir("report-layout-labels");
    const Layout l = measure(dir.path, cut_rate_run());
    BOOST_TEST(l.charts == 3u);
    std::string all;
    for (const auto& p : l.problems) all += p + "\n";
    BOOST_TEST(l.problems.empty(), l.problems.size() << " overlap(s):\n" << all);
}

// The checks can fail: a label placed on a curve by hand is found.
BOOST_AUTO_TEST_CASE(the_overlap_check_sees_a_label_on_a_curve) {
    TempDir dir("report-layout-control");
    ReportData d = cut_rate_run();
    d.best_epoch = 0;
    std::string html = render_report(d);
    // A label across the whole plot of the first chart: every curve passes under it.
    const auto plot = html.find("<rect class=\"plot\"");
    BOOST_REQUIRE(plot != std::string::npos);
    html.insert(plot, "<text x=\"60\" y=\"160\" textLength=\"540\">covering label</text>");
    const fs::path page = dir.path / "control.html";
    html.insert(html.rfind("</body>"), kMeasure);
    std::ofstream(page) << html;
    const auto b = run_chromium(dir.path, page, "--dump-dom");
    BOOST_TEST(b.log.find("curve under chart 0: \"covering label\"") != std::string::npos, b.log);
}
