package io.github.tfl1l2.demo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItem;
import org.jfree.chart.LegendItemCollection;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.annotations.XYTitleAnnotation;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.DatasetRenderingOrder;
import org.jfree.chart.plot.SeriesRenderingOrder;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** Draws the demo's PNG charts with JFreeChart, headless. */
final class DemoCharts {
  /** The regularization path chart's file name. */
  static final String PATH_FILE = "regularization-path.png";

  /** The error-against-coefficient chart's file name. */
  static final String ERROR_FILE = "error-vs-l1.png";

  /** The learned-weights-per-setting chart's file name. */
  static final String WEIGHTS_FILE = "weights-by-setting.png";

  /** The diabetes lasso path chart's file name. */
  static final String DIABETES_FILE = "diabetes-lasso-path.png";

  private static final int WIDTH = 1100;
  private static final int HEIGHT = 700;

  /** Ten distinguishable colours (the "category10" palette) for the informative features. */
  private static final Color[] PALETTE = {
    new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
    new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
    new Color(0xbcbd22), new Color(0x17becf)
  };

  private static final Color NOISE_FEATURE = new Color(150, 150, 150, 110);
  private static final Color TRAIN = new Color(0x1f77b4);
  private static final Color TEST = new Color(0xd62728);
  private static final Color NON_ZERO = new Color(0x2ca02c);
  private static final Color MARKER = new Color(90, 90, 90);
  private static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 18);

  private DemoCharts() {}

  /**
   * Writes all charts into {@code directory} (created if missing) and returns their paths.
   *
   * @param directory the output folder
   * @param problem the problem the models were trained on
   * @param settings the four settings, "no penalty" first
   * @param path the L1-only models by increasing coefficient
   * @param chosenL1 the coefficient of the "L1 only" setting, marked on the path charts
   */
  static List<Path> writeAll(
      Path directory,
      SparseRegressionProblem problem,
      List<ScoredModel> settings,
      List<ScoredModel> path,
      double chosenL1)
      throws IOException {
    // Charts render into images only; no display is needed or wanted.
    System.setProperty("java.awt.headless", "true");
    Files.createDirectories(directory);
    List<Path> written = new ArrayList<>();
    written.add(save(regularizationPath(problem, path, chosenL1), directory.resolve(PATH_FILE)));
    written.add(save(errorVsL1(problem, settings, path, chosenL1), directory.resolve(ERROR_FILE)));
    written.add(save(weightsBySetting(problem, settings), directory.resolve(WEIGHTS_FILE)));
    return written;
  }

  /** Each weight against the L1 coefficient, the informative features in colour. */
  static JFreeChart regularizationPath(
      SparseRegressionProblem problem, List<ScoredModel> path, double chosenL1) {
    XYSeriesCollection lines = new XYSeriesCollection();
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
    LegendItemCollection legend = new LegendItemCollection();
    // Noise features first so that the informative ones are drawn on top of them.
    List<Integer> order = new ArrayList<>();
    for (int j = 0; j < problem.features(); j++) {
      if (!problem.isInformative(j)) {
        order.add(j);
      }
    }
    int noiseCount = order.size();
    for (int j = 0; j < problem.features(); j++) {
      if (problem.isInformative(j)) {
        order.add(j);
      }
    }
    int colour = 0;
    for (int j : order) {
      XYSeries series = new XYSeries("x" + j, false, true);
      for (ScoredModel point : path) {
        series.add(point.setting().l1(), point.model().weights()[j]);
      }
      int index = lines.getSeriesCount();
      lines.addSeries(series);
      if (problem.isInformative(j)) {
        Color c = PALETTE[colour++ % PALETTE.length];
        renderer.setSeriesPaint(index, c);
        renderer.setSeriesStroke(index, new BasicStroke(2.2f));
        legend.add(
            lineItem(
                String.format(Locale.ROOT, "x%d (true %+.2f)", j, problem.trueWeights()[j]),
                c,
                2.2f));
      } else {
        renderer.setSeriesPaint(index, NOISE_FEATURE);
        renderer.setSeriesStroke(index, new BasicStroke(1.0f));
      }
    }
    legend.add(lineItem(noiseCount + " features with true weight 0", NOISE_FEATURE, 1.0f));
    LogAxis x = logAxis("L1 coefficient (log scale)");
    NumberAxis y = new NumberAxis("learned weight");
    XYPlot plot = new XYPlot(lines, x, y, renderer);
    plot.setSeriesRenderingOrder(SeriesRenderingOrder.FORWARD);
    plot.setFixedLegendItems(legend);
    plot.addDomainMarker(coefficientMarker(chosenL1));
    plot.addRangeMarker(new ValueMarker(0.0, MARKER, new BasicStroke(0.8f)));
    stylePlot(plot);
    return chart("Regularization path: L1 drives the weights of noise features to zero", plot);
  }

  /** Train and test error, and the number of non-zero weights, against the L1 coefficient. */
  static JFreeChart errorVsL1(
      SparseRegressionProblem problem,
      List<ScoredModel> settings,
      List<ScoredModel> path,
      double chosenL1) {
    XYSeries train = new XYSeries("train MSE");
    XYSeries test = new XYSeries("test MSE");
    XYSeries nonZero = new XYSeries("non-zero weights (right axis)");
    for (ScoredModel point : path) {
      train.add(point.setting().l1(), point.score().trainError());
      test.add(point.setting().l1(), point.score().testError());
      nonZero.add(point.setting().l1(), point.score().nonZero());
    }
    XYSeriesCollection errors = new XYSeriesCollection();
    errors.addSeries(train);
    errors.addSeries(test);
    XYLineAndShapeRenderer errorRenderer = new XYLineAndShapeRenderer(true, true);
    errorRenderer.setSeriesPaint(0, TRAIN);
    errorRenderer.setSeriesPaint(1, TEST);
    errorRenderer.setSeriesStroke(0, new BasicStroke(2.2f));
    errorRenderer.setSeriesStroke(1, new BasicStroke(2.2f));
    errorRenderer.setSeriesShape(0, new Ellipse2D.Double(-3.5, -3.5, 7, 7));
    errorRenderer.setSeriesShape(1, new Ellipse2D.Double(-3.5, -3.5, 7, 7));

    XYPlot plot =
        new XYPlot(
            errors,
            logAxis("L1 coefficient (log scale)"),
            new NumberAxis("mean squared error"),
            errorRenderer);
    NumberAxis countAxis = new NumberAxis("non-zero weights (w != 0)");
    countAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    plot.setRangeAxis(1, countAxis);
    plot.setDataset(1, new XYSeriesCollection(nonZero));
    plot.mapDatasetToRangeAxis(1, 1);
    XYLineAndShapeRenderer countRenderer = new XYLineAndShapeRenderer(true, true);
    countRenderer.setSeriesPaint(0, NON_ZERO);
    countRenderer.setSeriesStroke(
        0,
        new BasicStroke(
            1.6f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f, new float[] {6f, 4f}, 0f));
    countRenderer.setSeriesShape(0, new Rectangle2D.Double(-3, -3, 6, 6));
    plot.setRenderer(1, countRenderer);
    plot.setDatasetRenderingOrder(DatasetRenderingOrder.FORWARD);

    double noiseVariance = problem.noiseStdDev() * problem.noiseStdDev();
    plot.addRangeMarker(
        labelledLine(
            noiseVariance,
            String.format(
                Locale.ROOT, "noise variance %.2f: the best test MSE possible", noiseVariance)));
    ScoredModel unpenalized = settings.get(0);
    double ceiling = unpenalized.score().testError();
    plot.addRangeMarker(
        labelledLine(ceiling, String.format(Locale.ROOT, "no penalty: test MSE %.2f", ceiling)));
    NumberAxis errorAxis = (NumberAxis) plot.getRangeAxis(0);
    errorAxis.setAutoRangeIncludesZero(true);
    double highest = Math.max(ceiling, test.getMaxY()) * 1.08;
    errorAxis.setRange(0.0, highest);
    plot.addDomainMarker(coefficientMarker(chosenL1));
    stylePlot(plot);
    return chart("Train and test error against the L1 coefficient", plot);
  }

  /** The learned weights of each setting over the feature index, true weights as circles. */
  static JFreeChart weightsBySetting(SparseRegressionProblem problem, List<ScoredModel> settings) {
    NumberAxis featureAxis = new NumberAxis("feature index");
    featureAxis.setRange(-1, problem.features());
    CombinedDomainXYPlot combined = new CombinedDomainXYPlot(featureAxis);
    combined.setGap(10.0);
    double largest = 0.0;
    for (double w : problem.trueWeights()) {
      largest = Math.max(largest, Math.abs(w));
    }
    for (ScoredModel m : settings) {
      for (double w : m.model().weights()) {
        largest = Math.max(largest, Math.abs(w));
      }
    }
    for (ScoredModel m : settings) {
      XYSeries learned = new XYSeries("learned");
      XYSeries truth = new XYSeries("true");
      for (int j = 0; j < problem.features(); j++) {
        learned.add(j, m.model().weights()[j]);
        if (problem.isInformative(j)) {
          truth.add(j, problem.trueWeights()[j]);
        }
      }
      XYBarRenderer bars = new XYBarRenderer();
      bars.setBarPainter(new StandardXYBarPainter());
      bars.setShadowVisible(false);
      bars.setSeriesPaint(0, TRAIN);
      XYLineAndShapeRenderer circles = new XYLineAndShapeRenderer(false, true);
      circles.setSeriesPaint(0, TEST);
      circles.setSeriesShape(0, new Ellipse2D.Double(-4, -4, 8, 8));
      circles.setSeriesShapesFilled(0, false);
      NumberAxis valueAxis = new NumberAxis("weight");
      valueAxis.setRange(-largest * 1.15, largest * 1.15);
      XYPlot plot = new XYPlot(new XYSeriesCollection(truth), null, valueAxis, circles);
      plot.setDataset(1, new XYSeriesCollection(learned));
      plot.setRenderer(1, bars);
      plot.addRangeMarker(new ValueMarker(0.0, MARKER, new BasicStroke(0.8f)));
      TextTitle caption =
          new TextTitle(
              String.format(
                  Locale.ROOT,
                  "%s: %d non-zero, test MSE %.2f",
                  m.setting().label(),
                  m.score().nonZero(),
                  m.score().testError()),
              new Font(Font.SANS_SERIF, Font.BOLD, 13));
      caption.setBackgroundPaint(new Color(255, 255, 255, 200));
      plot.addAnnotation(new XYTitleAnnotation(0.005, 0.98, caption, RectangleAnchor.TOP_LEFT));
      stylePlot(plot);
      combined.add(plot, 1);
    }
    LegendItemCollection legend = new LegendItemCollection();
    legend.add(
        new LegendItem(
            "learned weight", null, null, null, new Rectangle2D.Double(-4, -6, 8, 12), TRAIN));
    Line2D noLine = new Line2D.Double();
    legend.add(
        new LegendItem(
            "true weight of an informative feature",
            null,
            null,
            null,
            true,
            new Ellipse2D.Double(-4, -4, 8, 8),
            false,
            TEST,
            true,
            TEST,
            new BasicStroke(1.2f),
            false,
            noLine,
            new BasicStroke(0f),
            TEST));
    combined.setFixedLegendItems(legend);
    return chart(
        "Learned weights per setting: L1 keeps few, L2 and no penalty spread weight" + " over all",
        combined);
  }

  /**
   * Writes the diabetes lasso path into {@code directory} (created if missing) as {@value
   * #DIABETES_FILE} and returns its path: each weight against {@code Σ|w|}, as in Figure 1 of the
   * LARS paper, every line labelled with its variable at the right end.
   */
  static Path diabetesLassoPath(Path directory, LassoPath path) throws IOException {
    System.setProperty("java.awt.headless", "true");
    Files.createDirectories(directory);
    XYSeriesCollection lines = new XYSeriesCollection();
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
    List<String> names = path.featureNames();
    for (int j = 0; j < names.size(); j++) {
      XYSeries series = new XYSeries(names.get(j), false, true);
      for (LassoSolver.Solution point : path.points()) {
        series.add(point.l1Norm(), point.weights()[j]);
      }
      lines.addSeries(series);
      renderer.setSeriesPaint(j, PALETTE[j % PALETTE.length]);
      renderer.setSeriesStroke(j, new BasicStroke(2.0f));
      renderer.setSeriesShape(j, new Ellipse2D.Double(-2.5, -2.5, 5, 5));
    }
    NumberAxis x = new NumberAxis("Σ|w| (sum of absolute weights)");
    NumberAxis y = new NumberAxis("weight (standardized variables)");
    XYPlot plot = new XYPlot(lines, x, y, renderer);
    stylePlot(plot);
    LassoSolver.Solution last = path.points().get(path.points().size() - 1);
    Font labelFont = new Font(Font.SANS_SERIF, Font.BOLD, 13);
    double[] labelY = spreadLabels(last.weights());
    for (int j = 0; j < names.size(); j++) {
      XYTextAnnotation label = new XYTextAnnotation(" " + names.get(j), last.l1Norm(), labelY[j]);
      label.setFont(labelFont);
      label.setPaint(PALETTE[j % PALETTE.length]);
      label.setTextAnchor(TextAnchor.CENTER_LEFT);
      plot.addAnnotation(label);
    }
    // Room on the right for the labels.
    x.setUpperMargin(0.08);
    return save(
        chart(
            "Diabetes data (Efron et al. 2004): the lasso path traced by"
                + " ProximalGradientDescent",
            plot),
        directory.resolve(DIABETES_FILE));
  }

  /**
   * Label heights for line ends at {@code values}: the values themselves, moved apart where two are
   * closer than 1/40 of their range, so that no two labels overlap.
   */
  private static double[] spreadLabels(double[] values) {
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (double v : values) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    double gap = (max - min) / 40.0;
    Integer[] order = new Integer[values.length];
    for (int j = 0; j < order.length; j++) {
      order[j] = j;
    }
    java.util.Arrays.sort(order, (a, b) -> Double.compare(values[a], values[b]));
    double[] placed = values.clone();
    for (int k = 1; k < order.length; k++) {
      placed[order[k]] = Math.max(placed[order[k]], placed[order[k - 1]] + gap);
    }
    return placed;
  }

  private static Path save(JFreeChart chart, Path file) throws IOException {
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    return file;
  }

  private static JFreeChart chart(String title, org.jfree.chart.plot.Plot plot) {
    JFreeChart chart = new JFreeChart(title, TITLE_FONT, plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    return chart;
  }

  private static LogAxis logAxis(String label) {
    LogAxis axis = new LogAxis(label);
    axis.setBase(10);
    axis.setSmallestValue(1e-6);
    // Two ticks per power of ten (1 and 3.2 times it), labelled with two significant digits:
    // evenly spaced on the log scale and few enough not to crowd.
    axis.setTickUnit(new NumberTickUnit(0.5));
    axis.setNumberFormatOverride(new TwoSignificantDigits());
    return axis;
  }

  private static void stylePlot(XYPlot plot) {
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(220, 220, 220));
    plot.setRangeGridlinePaint(new Color(220, 220, 220));
  }

  private static ValueMarker coefficientMarker(double l1) {
    ValueMarker marker = new ValueMarker(l1, MARKER, dashed());
    marker.setLabel("--l1 " + SummaryTable.coefficient(l1) + "  ");
    marker.setLabelAnchor(RectangleAnchor.TOP_LEFT);
    marker.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
    marker.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    return marker;
  }

  private static ValueMarker labelledLine(double y, String label) {
    ValueMarker marker = new ValueMarker(y, MARKER, dashed());
    marker.setLabel(label);
    marker.setLabelAnchor(RectangleAnchor.TOP_LEFT);
    marker.setLabelTextAnchor(TextAnchor.BOTTOM_LEFT);
    marker.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    return marker;
  }

  private static BasicStroke dashed() {
    return new BasicStroke(
        1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {5f, 5f}, 0f);
  }

  private static LegendItem lineItem(String label, Paint paint, float width) {
    LegendItem item =
        new LegendItem(
            label, null, null, null, new Line2D.Double(-9, 0, 9, 0), new BasicStroke(width), paint);
    return item;
  }

  /** Formats tick labels with two significant digits and no exponent (0.032, 0.32, 3.2). */
  private static final class TwoSignificantDigits extends NumberFormat {
    private static final long serialVersionUID = 1L;

    @Override
    public StringBuffer format(double number, StringBuffer target, FieldPosition position) {
      return target.append(
          new BigDecimal(number).round(new MathContext(2)).stripTrailingZeros().toPlainString());
    }

    @Override
    public StringBuffer format(long number, StringBuffer target, FieldPosition position) {
      return format((double) number, target, position);
    }

    @Override
    public Number parse(String source, ParsePosition position) {
      throw new UnsupportedOperationException("tick labels are only formatted");
    }
  }
}
