package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.Cases.DType;
import io.github.tfl1l2.testing.References;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * Scale: ten thousand variables, and one 1 GiB float32 variable (2^28 elements). Too slow for the
 * default suite; run with {@code mvn -B test -Dgroups=soak -DexcludedGroups= -Dtest=ScaleTest}.
 */
@Tag("soak")
class ScaleTest {
  private static final double L1 = 1e-4;
  private static final double L2 = 1e-3;

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void tenThousandVariablesOfMixedDtypesSumToTheReference(boolean xla) {
    int count = 10_000;
    SplittableRandom random = new SplittableRandom(10_000);
    double expected = 0;
    long elements = 0;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      // Variables without registered initializers, filled by one explicit run of their Assign
      // ops, named without sub-scopes: in TF-Java 1.1.0 both variable(init) and withSubScope
      // grow quadratically with the graph (4000 variables: 68 s and 20 s).
      List<Operand<?>> parameters = new ArrayList<>(count);
      List<Op> fills = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        DType dtype = i % 10 == 0 ? DType.FLOAT16 : i % 10 == 1 ? DType.FLOAT64 : DType.FLOAT32;
        Cases.Draw draw = new Cases.Draw(random.nextLong());
        long[] shape = draw.shape(200);
        double[] v = draw.values(dtype, (int) Cases.elements(shape), -3, 0);
        for (double x : v) {
          expected += L1 * Math.abs(x) + L2 * x * x;
        }
        elements += v.length;
        try (Tensor t = dtype.tensor(v, shape)) {
          Operand<TType> value = tf.constantOf((TType) t);
          Variable<TType> w =
              tf.withName("layer" + i + "_kernel").variable(Shape.of(shape), value.type());
          fills.add(tf.assign(w, value));
          parameters.add(w);
        }
      }
      long t0 = System.nanoTime();
      Operand<TFloat32> penalty =
          L1L2.builder().l1(L1).l2(L2).xla(xla).build().penalty(tf, parameters);
      long built = System.nanoTime();
      try (Session s = new Session(g)) {
        Session.Runner fill = s.runner();
        fills.forEach(fill::addTarget);
        fill.run();
        long filled = System.nanoTime();
        double first = Fixtures.fetchScalar(s, penalty);
        long firstRun = System.nanoTime();
        long[] runs = new long[5];
        double last = first;
        for (int i = 0; i < runs.length; i++) {
          long r0 = System.nanoTime();
          last = Fixtures.fetchScalar(s, penalty);
          runs[i] = System.nanoTime() - r0;
        }
        Arrays.sort(runs);
        double error =
            Math.max(
                References.relativeError(first, expected),
                References.relativeError(last, expected));
        Memory.figure(
            "10k variables xla=%s: %d elements, %d graph ops; penalty built in %.2f s;"
                + " first run %.1f s, median run %.1f ms; relative error %.2e; peak RSS %s",
            xla,
            elements,
            countOps(g),
            (built - t0) / 1e9,
            (firstRun - filled) / 1e9,
            runs[runs.length / 2] / 1e6,
            error,
            Memory.mib(Memory.peakBytes()));
        assertTrue(error <= 1e-6, first + " / " + last + " vs " + expected);
      }
    }
  }

  private static long countOps(Graph g) {
    long n = 0;
    for (var it = g.operations(); it.hasNext(); it.next()) {
      n++;
    }
    return n;
  }

  /**
   * One 1 GiB float32 variable (2^28 elements, uniform in [0, 1)), created and filled inside the
   * graph so that no freed buffer of the fixture is lying around for the penalty to reuse. The
   * reference is summed in Java from the fetched variable (a fetch shares the buffer). Returns the
   * extra peak resident memory of the first and second penalty run, in bytes. Run by {@link
   * HugeVariableTest} in a child JVM.
   */
  static long[] measureHugeVariable(boolean xla) {
    int n = 1 << 28;
    long bytes = 4L * n;
    long start = Memory.rssBytes();
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Ops init = tf.withInitScope();
      Operand<TFloat32> random =
          init.random.statelessRandomUniform(
              init.constant(new int[] {n}), init.constant(new long[] {7, 11}));
      Variable<TFloat32> embedding = tf.withName("embedding").variable(random);
      Operand<TFloat32> penalty =
          L1L2.builder().l1(L1).l2(L2).xla(xla).build().penalty(tf, List.of(embedding));
      try (Session s = new Session(g)) {
        s.initialize();
        long initialized = Memory.rssBytes();
        double l1Sum = 0;
        double l2Sum = 0;
        try (Result r = s.runner().fetch(embedding).run()) {
          FloatDataBuffer data = ((TFloat32) r.get(0)).asRawTensor().data().asFloats();
          float[] chunk = new float[1 << 20];
          for (long offset = 0; offset < n; offset += chunk.length) {
            data.offset(offset).read(chunk);
            for (float v : chunk) {
              l1Sum += Math.abs((double) v);
              l2Sum += (double) v * v;
            }
          }
        }
        double expected = L1 * l1Sum + L2 * l2Sum;
        System.gc();
        long[] extra = new long[2];
        double[] value = new double[2];
        double[] seconds = new double[2];
        long before = Memory.rssBytes();
        for (int run = 0; run < 2; run++) {
          Memory.resetPeak();
          long t0 = System.nanoTime();
          value[run] = Fixtures.fetchScalar(s, penalty);
          seconds[run] = (System.nanoTime() - t0) / 1e9;
          extra[run] = Memory.peakBytes() - before;
        }
        double error =
            Math.max(
                References.relativeError(value[0], expected),
                References.relativeError(value[1], expected));
        Memory.figure(
            "1 GiB variable xla=%s TF_ENABLE_ONEDNN_OPTS=%s: relative error %.2e; RSS"
                + " at start %s, with the weights %s (%.2f x weights added); run 1 %.2f s peaks %s"
                + " above that (%.2f x weights), run 2 %.2f s peaks %s above (%.2f x weights);"
                + " process peak RSS %s",
            xla,
            System.getenv("TF_ENABLE_ONEDNN_OPTS"),
            error,
            Memory.mib(start),
            Memory.mib(before),
            (initialized - start) / (double) bytes,
            seconds[0],
            Memory.mib(extra[0]),
            extra[0] / (double) bytes,
            seconds[1],
            Memory.mib(extra[1]),
            extra[1] / (double) bytes,
            Memory.mib(Memory.peakBytes()));
        assertTrue(error <= 1e-5, Arrays.toString(value) + " vs " + expected);
        return extra;
      }
    }
  }
}
