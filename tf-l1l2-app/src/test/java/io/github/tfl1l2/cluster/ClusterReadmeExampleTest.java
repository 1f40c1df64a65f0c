package io.github.tfl1l2.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.testing.References;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.DeviceSpec;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.framework.optimizers.GradientDescent;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

/**
 * The client example of docs/cluster.md ("On a cluster"), verbatim between the README markers
 * below, run twice against a real loopback cluster (2 ps tasks, 1 worker): the first run
 * initializes and saves a checkpoint, the second restores it and goes on. The document's text is
 * checked against it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ClusterReadmeExampleTest {
  private static final Path DOCUMENT = Path.of("docs", "cluster.md");
  private static final Path SOURCE =
      Path.of("tf-l1l2-app/src/test/java/io/github/tfl1l2/cluster/ClusterReadmeExampleTest.java");

  static void example(String[] args) throws Exception {
    // spotless:off (held verbatim by the docs: DocumentedExamplesTest)
    // README:BEGIN
    String target = args[0];      // the worker task, e.g. grpc://127.0.0.1:2224
    String checkpoint = args[1];  // e.g. /tmp/l1l2-cluster/ckpt
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Ops ps0 = tf.withDevice(DeviceSpec.newBuilder().job("ps").task(0).build());
      Ops ps1 = tf.withDevice(DeviceSpec.newBuilder().job("ps").task(1).build());
      Variable<TFloat32> kernel = ps0.withName("kernel").variable(ps0.withInitScope().constant(new float[][] {{0.5f, -1f}, {2f, 0f}}));
      Variable<TFloat64> kernel2 = ps1.withName("kernel_2").variable(ps1.withInitScope().constant(new double[] {0.25, -3}));
      Operand<TFloat32> dataLoss = /* your model's loss */ tf.constant(0f);

      L1L2 reg = L1L2.builder().l1(1e-2).l2(1e-3).on("kernel").build();
      Operand<TFloat32> penalty = reg.penalty(tf, List.of(kernel, kernel2));  // summed on ps0 and ps1
      Op train = new GradientDescent(graph, 0.1f).minimize(reg.addTo(tf, dataLoss, List.of(kernel, kernel2)));

      try (Session session = ClusterSession.open(graph, target)) {
        if (Files.exists(Path.of(checkpoint + ".index"))) {
          session.restore(checkpoint);            // the variables of the last checkpoint
        } else {
          session.initialize();                   // the variables' initial values
        }
        for (int step = 0; step < 100; step++) {
          session.runner().addTarget(train).run();
        }
        session.save(checkpoint);
        try (Result result = session.runner().fetch(penalty).run()) {
          System.out.println("penalty: " + ((TFloat32) result.get(0)).getFloat());
        }
      }
    }
    // README:END
    // spotless:on
  }

  @Test
  void exampleTrainsOnTheClusterAndResumesFromItsCheckpoint(@TempDir Path dir) throws Exception {
    String checkpoint = dir.resolve("ckpt").toString();
    try (LocalCluster cluster = LocalCluster.start(2, 1)) {
      String[] args = {cluster.target("worker", 0), checkpoint};
      float first = printedPenalty(args);
      assertTrue(Files.exists(Path.of(checkpoint + ".index")), "a checkpoint was saved");
      float second = printedPenalty(args);
      assertEquals(referencePenalty(100), first, 1e-5 * referencePenalty(100), "after 100 steps");
      assertEquals(
          referencePenalty(200),
          second,
          1e-5 * referencePenalty(200),
          "after 100 more steps from the checkpoint");
    }
  }

  @Test
  void readmeShowsTheExampleAsTested() throws IOException {
    Path readme = DOCUMENT;
    String text = Files.readString(readme);
    int section = text.indexOf("# On a cluster");
    assertTrue(section >= 0, readme + " has an \"On a cluster\" section");
    Matcher block =
        Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(text.substring(section));
    assertTrue(block.find(), readme + " shows the client example");
    List<String> lines = block.group(1).lines().toList();
    String source = Files.readString(SOURCE);
    List<String> imports = lines.stream().filter(l -> l.startsWith("import ")).toList();
    assertTrue(imports.size() > 5, "the example lists its imports");
    for (String line : imports) {
      // ClusterSession is in this test's own package, which google-java-format leaves unimported.
      assertTrue(
          source.contains("\n" + line + "\n")
              || line.equals("import " + ClusterSession.class.getName() + ";"),
          "the test imports what the README example imports: " + line);
    }
    String readmeBody = String.join("\n", lines.subList(imports.size(), lines.size())).strip();
    String testBody =
        source.substring(
            source.indexOf("// README:BEGIN\n") + 16, source.indexOf("    // README:END"));
    String unindented =
        testBody
            .lines()
            .map(l -> l.length() >= 4 ? l.substring(4) : l.strip())
            .reduce((a, b) -> a + "\n" + b)
            .orElse("")
            .strip();
    assertEquals(unindented, readmeBody, "README example and test");
  }

  private static float printedPenalty(String[] args) throws Exception {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      example(args);
    } finally {
      System.setOut(original);
    }
    String out = captured.toString(StandardCharsets.UTF_8).strip();
    assertTrue(out.startsWith("penalty: "), out);
    return Float.parseFloat(out.substring("penalty: ".length()));
  }

  /** The example's penalty after {@code steps} gradient steps, simulated in double. */
  private static double referencePenalty(int steps) {
    double[] w = {0.5, -1, 2, 0, 0.25, -3};
    double l1 = 1e-2;
    double l2 = 1e-3;
    for (int s = 0; s < steps; s++) {
      for (int i = 0; i < w.length; i++) {
        w[i] -= 0.1 * References.penaltyGradient(w[i], l1, l2);
      }
    }
    return l1 * Arrays.stream(w).map(Math::abs).sum() + l2 * Arrays.stream(w).map(x -> x * x).sum();
  }
}
