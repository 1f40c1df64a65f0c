package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.testing.References;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The README's usage example, as written there (imports included; {@code DocumentedExamplesTest}
 * checks that the README block appears here verbatim), run, and its printed weights checked.
 */
class ReadmeExampleTest {

  static void example() {
    // spotless:off (held verbatim by the docs: DocumentedExamplesTest)
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Variable<TFloat32> kernel = tf.withName("kernel").variable(tf.withInitScope().constant(new float[][] {{0.5f, -1f}}));
      Variable<TFloat32> bias = tf.withName("bias").variable(tf.withInitScope().constant(new float[] {0.1f}));
      Operand<TFloat32> dataLoss = /* your model's loss */ tf.reduceSum(tf.math.square(tf.identity(bias)), tf.constant(0));

      L1L2 reg = L1L2.builder().l1(1e-4).l2(1e-3).on("kernel").build();   // regularize kernels, not biases
      Operand<TFloat32> loss = reg.addTo(tf, dataLoss, List.of(kernel, bias));
      Op train = new GradientDescent(graph, 0.1f).minimize(loss);

      try (Session session = new Session(graph)) {
        session.runner().addTarget(train).run();            // one step on data loss + penalty
        try (Result result = session.runner().fetch(kernel).fetch(bias).run()) {
          System.out.println("kernel " + Arrays.deepToString(StdArrays.array2dCopyOf((TFloat32) result.get(0))));
          System.out.println("bias " + Arrays.toString(StdArrays.array1dCopyOf((TFloat32) result.get(1))));
        }
      }
    }
    // spotless:on
  }

  @Test
  void readmeExampleTrainsKernelsWithThePenaltyAndLeavesBiasesToTheDataLoss() {
    List<String> printed = printedLines();
    assertEquals(2, printed.size(), "two lines: " + printed);
    assertTrue(printed.get(0).startsWith("kernel [["), printed.get(0));
    assertTrue(printed.get(1).startsWith("bias ["), printed.get(1));
    float[] kernel = numbers(printed.get(0));
    float[] bias = numbers(printed.get(1));

    // kernel: w - 0.1 * (1e-4 * sign(w) + 2e-3 * w); bias: b - 0.1 * 2b (the data loss alone)
    double[] start = {0.5, -1.0};
    assertEquals(2, kernel.length);
    for (int i = 0; i < start.length; i++) {
      double w = start[i];
      assertEquals(
          w - 0.1 * References.penaltyGradient(w, 1e-4, 1e-3), kernel[i], 1e-7, "kernel " + i);
    }
    assertEquals(1, bias.length);
    assertEquals(0.1 - 0.1 * 0.2, bias[0], 1e-7);
  }

  private static List<String> printedLines() {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      example();
    } finally {
      System.setOut(original);
    }
    return captured.toString(StandardCharsets.UTF_8).lines().toList();
  }

  /** The numbers of a printed line such as {@code kernel [[0.49989, -0.99979]]}. */
  private static float[] numbers(String line) {
    String[] parts = line.substring(line.indexOf('[')).replaceAll("[\\[\\]]", "").split(",");
    float[] values = new float[parts.length];
    for (int i = 0; i < parts.length; i++) {
      values[i] = Float.parseFloat(parts[i].strip());
    }
    return values;
  }
}
