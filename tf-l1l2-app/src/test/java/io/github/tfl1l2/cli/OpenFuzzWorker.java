package io.github.tfl1l2.cli;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.TestModels;
import io.github.tfl1l2.savedmodel.TrainableSavedModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;

/**
 * Runs a range of fuzz cases of {@link TrainableSavedModel#open(Path, String,
 * TrainableSavedModel.Mode)} in one JVM: each case opens a corrupt copy of the seed ({@link
 * ModelMutator#mutateFunctionBodies}) and, if it opens, runs one output of the signature on inputs
 * of the seed signature's dtypes and shapes, then closes everything. One JSON line per finished
 * case goes to a results file; the case number goes to a progress file before the case starts, so
 * that the parent can tell which case ended the process (a native abort) or stopped making progress
 * (a hang).
 */
public final class OpenFuzzWorker {
  private OpenFuzzWorker() {}

  /**
   * Arguments: seed model, signature key, mode, work directory, first case, end case (exclusive),
   * results, progress.
   *
   * @param args the arguments above
   * @throws IOException if the work directory or the result files cannot be written
   */
  public static void main(String[] args) throws IOException {
    Path seed = Path.of(args[0]);
    String signatureKey = args[1];
    TrainableSavedModel.Mode mode = TrainableSavedModel.Mode.valueOf(args[2]);
    Path work = Path.of(args[3]);
    int first = Integer.parseInt(args[4]);
    int end = Integer.parseInt(args[5]);
    Path results = Path.of(args[6]);
    Path progress = Path.of(args[7]);
    // The seed's own signature: the inputs a caller who knows the model would feed.
    SignatureDef signature =
        SavedModel.parseFrom(Files.readAllBytes(seed.resolve("saved_model.pb")))
            .getMetaGraphs(0)
            .getSignatureDefOrThrow(signatureKey);
    for (int number = first; number < end; number++) {
      Files.writeString(
          progress,
          number + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND,
          StandardOpenOption.SYNC);
      JsonObject result = runCase(seed, signatureKey, mode, signature, work, number);
      try (Writer writer =
          Files.newBufferedWriter(
              results,
              StandardCharsets.UTF_8,
              StandardOpenOption.CREATE,
              StandardOpenOption.APPEND)) {
        writer.write(new Gson().toJson(result) + "\n");
      }
    }
  }

  /** Copies case {@code number}'s corrupt model to {@code copy}, with the seed's other files. */
  static ModelMutator.Mutation mutate(Path seed, Path copy, int number) throws IOException {
    ModelMutator.Mutation mutation = ModelMutator.mutateFunctionBodies(seed, copy, number);
    // Assets, fingerprint and Keras metadata are left as they are: the mutator corrupts the graph
    // and the checkpoint.
    try (Stream<Path> files = Files.walk(seed)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Path target = copy.resolve(seed.relativize(file).toString());
        if (!Files.exists(target)) {
          Files.createDirectories(target.getParent());
          Files.copy(file, target);
        }
      }
    }
    return mutation;
  }

  private static JsonObject runCase(
      Path seed,
      String signatureKey,
      TrainableSavedModel.Mode mode,
      SignatureDef signature,
      Path work,
      int number)
      throws IOException {
    Path caseDir = Files.createDirectories(work.resolve("case-" + number));
    Path model = caseDir.resolve("model");
    ModelMutator.Mutation mutation = mutate(seed, model, number);
    Map<String, String> before = TestModels.digest(model);
    long start = System.nanoTime();
    JsonObject result = new JsonObject();
    result.addProperty("case", number);
    result.addProperty("file", mutation.file());
    result.addProperty("kind", mutation.kind());
    result.addProperty("detail", mutation.detail());
    String opened;
    String message = "";
    String run = "";
    try (TrainableSavedModel m = TrainableSavedModel.open(model, signatureKey, mode)) {
      opened = "opened";
      run = forward(m, signature, number);
    } catch (SavedModelException e) {
      opened = "SavedModelException";
      message = String.valueOf(e.getMessage());
    } catch (IllegalArgumentException e) {
      opened = "IllegalArgumentException";
      message = String.valueOf(e.getMessage());
    } catch (RuntimeException | Error e) {
      opened = "other";
      message = stack(e);
    }
    result.addProperty("opened", opened);
    result.addProperty("message", message);
    result.addProperty("run", run);
    result.addProperty("millis", (System.nanoTime() - start) / 1_000_000);
    result.addProperty("inputUnchanged", before.equals(TestModels.digest(model)));
    TestModels.delete(caseDir);
    return result;
  }

  /**
   * Runs the signature's first float output on inputs made from the seed signature's dtypes and
   * shapes (unknown dimensions 2); returns "ran" or the Java exception the run threw.
   */
  private static String forward(TrainableSavedModel m, SignatureDef signature, int number) {
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner runner = m.session().runner();
      Random random = new Random(number);
      for (String key : new TreeSet<>(signature.getInputsMap().keySet())) {
        Tensor tensor = input(signature.getInputsOrThrow(key), random);
        feeds.add(tensor);
        runner.feed(m.input(key), tensor);
      }
      String output =
          new TreeSet<>(signature.getOutputsMap().keySet())
              .stream()
                  .filter(k -> signature.getOutputsOrThrow(k).getDtype() == DataType.DT_FLOAT)
                  .findFirst()
                  .orElseThrow();
      try (Result r = runner.fetch(m.output(output, TFloat32.class)).run()) {
        return "ran " + r.get(0).shape();
      }
    } catch (RuntimeException e) {
      return "threw " + e.getClass().getName() + ": " + firstLine(e.getMessage());
    } finally {
      feeds.forEach(Tensor::close);
    }
  }

  private static Tensor input(TensorInfo info, Random random) {
    long[] dims =
        info.getTensorShape().getDimList().stream()
            .mapToLong(d -> d.getSize() >= 0 ? d.getSize() : 2)
            .toArray();
    Shape shape = Shape.of(dims);
    if (info.getDtype() == DataType.DT_STRING) {
      String[] words = {"good", "bad", "movie", "the", "plot", "zzz"};
      var text = NdArrays.ofObjects(String.class, shape);
      text.scalars()
          .forEach(
              s ->
                  s.setObject(
                      words[random.nextInt(words.length)]
                          + " "
                          + words[random.nextInt(words.length)]));
      return TString.tensorOf(text);
    }
    if (info.getDtype() == DataType.DT_FLOAT) {
      float[] values = new float[(int) shape.size()];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) (0.05 * random.nextGaussian());
      }
      return TFloat32.tensorOf(shape, DataBuffers.of(values, true, false));
    }
    throw new IllegalStateException("input dtype " + info.getDtype() + " is not made here");
  }

  private static String firstLine(String text) {
    return text == null ? "null" : text.lines().findFirst().orElse("");
  }

  private static String stack(Throwable e) {
    StringWriter text = new StringWriter();
    e.printStackTrace(new PrintWriter(text));
    return text.toString().lines().limit(25).reduce("", (a, b) -> a + b + "\n");
  }
}
