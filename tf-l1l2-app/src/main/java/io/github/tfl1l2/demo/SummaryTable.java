package io.github.tfl1l2.demo;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Formats the per-setting results as a fixed-width text table. */
final class SummaryTable {
  private static final String ROW = "%-11s %7s %7s %10s %9s %9s %9s %10s %7s";

  private SummaryTable() {}

  /** The table's lines: a header, a rule, one row per model. */
  static List<String> lines(List<ScoredModel> models) {
    List<String> lines = new ArrayList<>();
    lines.add(
        String.format(
            Locale.ROOT,
            ROW,
            "setting",
            "l1",
            "l2",
            "train MSE",
            "test MSE",
            "penalty",
            "non-zero",
            "precision",
            "recall"));
    lines.add("-".repeat(lines.get(0).length()));
    for (ScoredModel m : models) {
      ModelScore s = m.score();
      lines.add(
          String.format(
              Locale.ROOT,
              ROW,
              m.setting().label(),
              coefficient(m.setting().l1()),
              coefficient(m.setting().l2()),
              fixed(s.trainError()),
              fixed(s.testError()),
              fixed(s.penalty()),
              s.nonZero() + "/" + m.model().weights().length,
              ratio(s.precision()),
              ratio(s.recall())));
    }
    return lines;
  }

  /** A coefficient in at most four significant digits, {@code 0} for zero. */
  static String coefficient(double value) {
    return new BigDecimal(value).round(new MathContext(4)).stripTrailingZeros().toPlainString();
  }

  private static String fixed(double value) {
    return String.format(Locale.ROOT, "%.4f", value);
  }

  private static String ratio(double value) {
    return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.2f", value);
  }
}
