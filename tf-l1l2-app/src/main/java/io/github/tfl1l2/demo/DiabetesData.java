package io.github.tfl1l2.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The diabetes data of Efron, Hastie, Johnstone and Tibshirani, "Least Angle Regression" (Annals of
 * Statistics, 2004), as shipped in this module's resources ({@value #RESOURCE}, taken from
 * scikit-learn, BSD-3-Clause; see {@code diabetes-NOTICE.txt} beside it): 442 patients, ten
 * baseline variables and a measure of disease progression one year later.
 *
 * @param featureNames the ten variables: age, sex, bmi, bp, s1 … s6
 * @param features one row per patient, one column per variable
 * @param target the disease progression of each patient
 */
record DiabetesData(List<String> featureNames, double[][] features, double[] target) {
  /** The resource, next to this class. */
  static final String RESOURCE = "diabetes.csv";

  /** Patients. */
  static final int ROWS = 442;

  /** Baseline variables. */
  static final int FEATURES = 10;

  DiabetesData {
    featureNames = List.copyOf(featureNames);
  }

  /**
   * Reads the shipped CSV: {@code #} comment lines, a header, then 442 rows of eleven numbers (the
   * ten variables, then the target).
   *
   * @throws IllegalStateException if the resource is missing or not of that shape
   */
  static DiabetesData load() {
    try (InputStream in = DiabetesData.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the resource " + RESOURCE + " is missing");
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      List<String> header = null;
      List<double[]> rows = new ArrayList<>();
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (line.startsWith("#") || line.isBlank()) {
          continue;
        }
        String[] fields = line.split(",");
        if (fields.length != FEATURES + 1) {
          throw new IllegalStateException(
              RESOURCE
                  + ": expected "
                  + (FEATURES + 1)
                  + " columns, found "
                  + fields.length
                  + " in '"
                  + line
                  + "'");
        }
        if (header == null) {
          header = List.of(fields);
          continue;
        }
        double[] row = new double[fields.length];
        for (int j = 0; j < fields.length; j++) {
          row[j] = Double.parseDouble(fields[j]);
        }
        rows.add(row);
      }
      if (rows.size() != ROWS) {
        throw new IllegalStateException(
            RESOURCE + ": expected " + ROWS + " rows, found " + rows.size());
      }
      double[][] x = new double[ROWS][];
      double[] y = new double[ROWS];
      for (int i = 0; i < ROWS; i++) {
        x[i] = Arrays.copyOf(rows.get(i), FEATURES);
        y[i] = rows.get(i)[FEATURES];
      }
      return new DiabetesData(header.subList(0, FEATURES), x, y);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  /**
   * The same data as the paper's lasso sees it: every variable standardized to mean 0 and variance
   * 1 (the population variance, dividing by n), and the target centered.
   */
  DiabetesData standardized() {
    int n = features.length;
    double[][] x = new double[n][FEATURES];
    for (int j = 0; j < FEATURES; j++) {
      double mean = 0.0;
      for (double[] row : features) {
        mean += row[j] / n;
      }
      double variance = 0.0;
      for (double[] row : features) {
        variance += (row[j] - mean) * (row[j] - mean) / n;
      }
      double sd = Math.sqrt(variance);
      for (int i = 0; i < n; i++) {
        x[i][j] = (features[i][j] - mean) / sd;
      }
    }
    double mean = Arrays.stream(target).sum() / n;
    double[] y = Arrays.stream(target).map(v -> v - mean).toArray();
    return new DiabetesData(featureNames, x, y);
  }
}
