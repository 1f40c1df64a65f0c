package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.tfl1l2.savedmodel.export.AtomicDirectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TString;

/**
 * Test helpers that read models without the code under test: variable values come straight from the
 * session, and sums are recomputed here in double precision.
 */
public final class TestModels {
  /** The example this project ships, relative to the project root (the tests' working dir). */
  public static final Path EXAMPLE = Path.of("savedmodels", "mlp-4-8-3");

  private TestModels() {}

  /**
   * A SavedModel exported by Python TensorFlow from {@code ../shared/savedmodels-external}; skips
   * the test where that directory is absent (a fresh clone has none).
   */
  public static Path external(String name) {
    Path dir = Path.of("..", "shared", "savedmodels-external", name);
    assumeTrue(Files.isDirectory(dir), "external SavedModel " + dir + " is not present");
    return dir;
  }

  /** The value of a variable (resource or reference) or tensor of {@code session}, widened. */
  public static double[] values(Session session, String name) {
    try (Result result = session.runner().fetch(name).run()) {
      return values(result.get(0));
    }
  }

  /** The raw bytes of a variable's value, whatever its dtype: for exact comparisons. */
  public static byte[] bytes(Session session, String name) {
    try (Result result = session.runner().fetch(name).run()) {
      var data = result.get(0).asRawTensor().data();
      byte[] bytes = new byte[(int) data.size()];
      data.read(bytes);
      return bytes;
    }
  }

  /** A float32 or float64 tensor's elements, widened to double. */
  public static double[] values(Tensor tensor) {
    int size = (int) tensor.shape().size();
    double[] widened = new double[size];
    if (tensor instanceof TFloat32 floats) {
      float[] raw = new float[size];
      floats.copyTo(DataBuffers.of(raw, false, false));
      for (int i = 0; i < size; i++) {
        widened[i] = raw[i];
      }
    } else if (tensor instanceof TFloat64 doubles) {
      doubles.copyTo(DataBuffers.of(widened, false, false));
    } else {
      throw new IllegalArgumentException("not a float32/float64 tensor: " + tensor.dataType());
    }
    return widened;
  }

  /** The elements of a string tensor. */
  public static List<String> strings(Tensor tensor) {
    TString strings = (TString) tensor;
    List<String> values = new ArrayList<>();
    for (long i = 0; i < tensor.shape().size(); i++) {
      values.add(strings.getObject(i));
    }
    return values;
  }

  /** Calls the {@code regularization} signature of {@code bundle} and widens its outputs. */
  public static Map<String, Object> callRegularization(SavedModelBundle bundle) {
    Map<String, Object> outputs = new TreeMap<>();
    try (Result result = bundle.function("regularization").call(Map.of())) {
      for (Map.Entry<String, Tensor> entry : result) {
        Tensor tensor = entry.getValue();
        outputs.put(entry.getKey(), tensor instanceof TString ? strings(tensor) : values(tensor));
      }
    }
    return outputs;
  }

  /** Asserts {@code actual} (a float32 result) equals {@code expected} to float32 rounding. */
  public static void assertClose(double expected, double actual, String what) {
    // Float32 sums of up to ~10^5 terms: a relative error of 1e-5 leaves room for the reduction
    // order, and still fails on any missing or extra term in these tests.
    assertEquals(expected, actual, 1e-5 * Math.abs(expected) + 1e-7, what);
  }

  /** SHA-256 of every file under {@code dir}, keyed by relative path: to prove it unchanged. */
  public static Map<String, String> digest(Path dir) {
    Map<String, String> digests = new TreeMap<>();
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.filter(Files::isRegularFile).toList()) {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        digests.put(
            dir.relativize(path).toString(),
            HexFormat.of().formatHex(sha.digest(Files.readAllBytes(path))));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    return digests;
  }

  /** Deletes {@code dir} and everything in it, as an export removes its temporary. */
  public static void delete(Path dir) {
    AtomicDirectory.deleteRecursively(dir);
  }

  /** The names in {@code dir}, to prove that nothing (not even a temporary) was left there. */
  public static List<String> listing(Path dir) {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
