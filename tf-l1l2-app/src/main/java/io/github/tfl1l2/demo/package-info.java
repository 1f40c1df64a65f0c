/**
 * The demos of {@code tf-l1l2 demo}: a sparse linear regression trained under no penalty, L2, L1
 * and L1+L2 (the last with the proximal step), and the lasso path of the LARS diabetes data.
 *
 * <p><b>API:</b> {@link io.github.tfl1l2.demo.DemoCommand}. <b>Package-private, by role:</b> the
 * data ({@code SparseRegressionProblem}, {@code DiabetesData}); training ({@code Trainer}, {@code
 * RegressionGraph}, {@code Setting}, {@code DemoSettings}, {@code TrainedModel}, {@code
 * LassoSolver}, {@code LassoPath}); results ({@code ModelScore}, {@code ScoredModel}, {@code
 * DemoReport}, {@code SummaryTable}, {@code DemoCharts}, {@code ExportCheck}); the runs ({@code
 * Demo}, {@code DiabetesDemo}); helpers ({@code Tensors}, {@code LinearAlgebra}).
 *
 * <p><b>May depend on:</b> the public API of {@code tf-l1l2} and {@code tf-l1l2-savedmodel},
 * picocli, gson, JFreeChart, TensorFlow-Java. Not on {@code cli} or {@code bench}.
 */
package io.github.tfl1l2.demo;
