package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.ModelVariable;
import io.github.tfl1l2.savedmodel.PenaltyReport;
import io.github.tfl1l2.savedmodel.SavedModelException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.types.TFloat32;

/** Runs emitted {@link RegularizationOutputs} in a model's session and reports the values. */
public final class PenaltyMeasurement {
  private PenaltyMeasurement() {}

  /**
   * The report of {@code outputs}, which {@code config} emitted over {@code selected}.
   *
   * @param directory the model's directory, for the message of a failure
   * @param session the model's session
   * @param config the regularizer that emitted {@code outputs}
   * @param outputs the emitted outputs
   * @param selected the variables they cover, in their order
   * @return the penalty, both sums and one row per variable, widened to double
   * @throws SavedModelException if TensorFlow fails to compute them (e.g. a corrupt graph leaves a
   *     variable uninitialized)
   */
  public static PenaltyReport run(
      Path directory,
      Session session,
      L1L2 config,
      RegularizationOutputs outputs,
      List<ModelVariable> selected) {
    Session.Runner runner =
        session
            .runner()
            .fetch(outputs.penalty)
            .fetch(outputs.l1Sum)
            .fetch(outputs.l2Sum)
            .fetch(outputs.perVariable)
            .fetch(outputs.absSums)
            .fetch(outputs.squareSums);
    try (Result result = runner.run()) {
      double[] penalties = doubles(result.get(3));
      double[] absSums = doubles(result.get(4));
      double[] squareSums = doubles(result.get(5));
      Map<String, ModelVariable> byName = new HashMap<>();
      selected.forEach(v -> byName.put(v.name(), v));
      List<PenaltyReport.VariablePenalty> rows = new ArrayList<>();
      for (int i = 0; i < outputs.names.size(); i++) {
        rows.add(
            new PenaltyReport.VariablePenalty(
                byName.get(outputs.names.get(i)), absSums[i], squareSums[i], penalties[i]));
      }
      return new PenaltyReport(
          config,
          doubles(result.get(0))[0],
          doubles(result.get(1))[0],
          doubles(result.get(2))[0],
          rows);
    } catch (TensorFlowException e) {
      throw new SavedModelException(
          directory
              + ": TensorFlow cannot compute the penalty: "
              + SavedModelException.firstLine(e),
          e);
    }
  }

  /** The values of a float32 scalar or vector (every output measured here is float32). */
  private static double[] doubles(Tensor tensor) {
    TFloat32 floats = (TFloat32) tensor;
    if (tensor.shape().numDimensions() == 0) {
      return new double[] {floats.getFloat()};
    }
    double[] values = new double[(int) tensor.shape().size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = floats.getFloat(i);
    }
    return values;
  }
}
