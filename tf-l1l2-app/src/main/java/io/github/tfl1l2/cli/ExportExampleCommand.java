package io.github.tfl1l2.cli;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.RegularizedSavedModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tf-l1l2 export-example}: regenerates {@code savedmodels/mlp-4-8-3}, a small SavedModel
 * exported by this project with a {@code regularization} signature.
 *
 * <p>The model is a two-layer perceptron (4 → 8 ReLU → 3) whose weights are drawn from a fixed
 * seed, so every run writes the same variable values.
 */
@Command(
    name = "export-example",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Writes the example SavedModel of savedmodels/mlp-4-8-3: a 4-8-3 perceptron with "
          + "weights from a fixed seed, signatures serving_default (input x: float32 [-1, 4], "
          + "output logits: float32 [-1, 3]) and regularization (l1="
          + ExportExampleCommand.L1
          + ", l2="
          + ExportExampleCommand.L2
          + ", on="
          + ExportExampleCommand.ON
          + ")."
    },
    footer = {"", "Exit status: 0 done, 1 --out cannot be written."})
public final class ExportExampleCommand implements Callable<Integer> {
  static final double L1 = 0.001;
  static final double L2 = 0.01;
  static final String ON = "kernel";
  static final long SEED = 20240611L;

  @Spec CommandSpec spec;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "Directory to create; must not exist yet (e.g. savedmodels/mlp-4-8-3).")
  Path out;

  @Override
  public Integer call() {
    PrintWriter stdout = spec.commandLine().getOut();
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Random random = new Random(SEED);
      Placeholder<TFloat32> x =
          tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 4)));
      Map<String, Variable<TFloat32>> variables = new LinkedHashMap<>();
      Operand<TFloat32> hidden = dense(tf, "dense", x, 4, 8, random, variables);
      Operand<TFloat32> logits = dense(tf, "dense_1", tf.nn.relu(hidden), 8, 3, random, variables);
      RegularizedSavedModel.exporter(session, L1L2.builder().l1(L1).l2(L2).on(ON).build())
          .variables(variables)
          .signature(
              Signature.builder()
                  .key(Signature.DEFAULT_KEY)
                  .input("x", x)
                  .output("logits", tf.withName("logits").identity(logits))
                  .build())
          .exportTo(out);
      stdout.println("wrote " + out);
      stdout.flush();
      return 0;
    } catch (RuntimeException e) {
      return Failures.report(spec, e);
    }
  }

  /** {@code input · kernel + bias}, with the two variables added to {@code variables}. */
  private static Operand<TFloat32> dense(
      Ops tf,
      String name,
      Operand<TFloat32> input,
      int in,
      int units,
      Random random,
      Map<String, Variable<TFloat32>> variables) {
    float[][] kernelValues = new float[in][units];
    for (float[] row : kernelValues) {
      for (int j = 0; j < units; j++) {
        row[j] = (float) (random.nextGaussian() * 0.5);
      }
    }
    float[] biasValues = new float[units];
    for (int j = 0; j < units; j++) {
      biasValues[j] = (float) (random.nextGaussian() * 0.1);
    }
    Ops layer = tf.withSubScope(name);
    Ops init = layer.withInitScope();
    Variable<TFloat32> kernel =
        layer.withName("kernel").variable(init.constant(StdArrays.ndCopyOf(kernelValues)));
    Variable<TFloat32> bias = layer.withName("bias").variable(init.constant(biasValues));
    variables.put(name + "/kernel", kernel);
    variables.put(name + "/bias", bias);
    return layer.math.add(layer.linalg.matMul(input, kernel), bias);
  }
}
