package io.github.tfl1l2.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.types.TFloat32;

/**
 * Trains the demo's linear model on one problem under any number of {@link Setting}s, each in a
 * fresh graph and session, with the same learning-rate schedule shape.
 *
 * <p>Holds the problem's data as float32 tensors, fed to every training step (full batch: every
 * step sees all training rows, so no sampling and no randomness is involved); close it to free
 * them.
 */
final class Trainer implements AutoCloseable {
  private final SparseRegressionProblem problem;
  private final int totalSteps;
  private final double gramEigenvalue;
  private final TFloat32 trainFeatures;
  private final TFloat32 trainTargets;
  private final TFloat32 testFeatures;

  /**
   * Copies the problem's data into float32 tensors, once for all the models trained.
   *
   * @param problem the data to train on
   * @param totalSteps gradient-descent steps per setting, at least {@link
   *     LearningRateSchedule#MIN_STEPS}
   */
  Trainer(SparseRegressionProblem problem, int totalSteps) {
    this.problem = problem;
    this.totalSteps = totalSteps;
    this.gramEigenvalue = LinearAlgebra.largestGramEigenvalueWithBias(problem.trainFeatures());
    List<TFloat32> tensors = new ArrayList<>(3);
    try {
      tensors.add(Tensors.matrix(problem.trainFeatures()));
      tensors.add(Tensors.vector(problem.trainTargets()));
      tensors.add(Tensors.matrix(problem.testFeatures()));
    } catch (RuntimeException e) {
      tensors.forEach(TFloat32::close);
      throw e;
    }
    this.trainFeatures = tensors.get(0);
    this.trainTargets = tensors.get(1);
    this.testFeatures = tensors.get(2);
  }

  /**
   * The schedule used for {@code setting}. Its first rate is {@code 1/curvature} of the
   * regularized loss: the mean squared error's Hessian is twice the Gram matrix of {@code [X 1]},
   * and the L2 term adds {@code 2·l2}; the L1 term has no curvature.
   */
  LearningRateSchedule scheduleFor(Setting setting) {
    return LearningRateSchedule.decaying(2.0 * (gramEigenvalue + setting.l2()), totalSteps);
  }

  /** Trains {@code setting} from zero weights and returns the result. */
  TrainedModel train(Setting setting) {
    return train(setting, null);
  }

  /**
   * Trains {@code setting} from zero weights; if {@code exportDirectory} is not null, also writes
   * the trained graph there as a SavedModel (see {@link RegressionGraph#export}).
   */
  TrainedModel train(Setting setting, Path exportDirectory) {
    long start = System.nanoTime();
    LearningRateSchedule schedule = scheduleFor(setting);
    try (RegressionGraph graph =
        new RegressionGraph(problem.features(), setting.regularizer(), schedule.rates())) {
      for (int phase = 0; phase < schedule.phases().size(); phase++) {
        graph.train(phase, schedule.phases().get(phase).steps(), trainFeatures, trainTargets);
      }
      RegressionGraph.LossSnapshot end = graph.evaluate(trainFeatures, trainTargets);
      if (exportDirectory != null) {
        try {
          graph.export(exportDirectory);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot write the SavedModel to " + exportDirectory, e);
        }
      }
      return new TrainedModel(
          setting,
          graph.regularizer(),
          graph.weights(),
          graph.bias(),
          end.dataLoss(),
          end.penalty(),
          graph.predict(testFeatures),
          (System.nanoTime() - start) / 1e9);
    }
  }

  @Override
  public void close() {
    // All three are closed even if one close fails.
    try {
      trainFeatures.close();
    } finally {
      try {
        trainTargets.close();
      } finally {
        testFeatures.close();
      }
    }
  }
}
