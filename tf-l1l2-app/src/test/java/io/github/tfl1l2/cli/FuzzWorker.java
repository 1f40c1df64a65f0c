package io.github.tfl1l2.cli;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import io.github.tfl1l2.savedmodel.TestModels;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Runs a range of fuzz cases in one JVM, each as the real command line in this process, and appends
 * one JSON line per finished case to a results file. It writes the case number to a progress file
 * before starting a case, so that {@link FuzzHarness} can tell which case ended the process (a
 * native abort) or stopped making progress (a hang).
 *
 * <p>Even cases run {@code penalty --json}, odd ones {@code regularize --out}.
 */
public final class FuzzWorker {
  private FuzzWorker() {}

  /** Arguments: seed model, work directory, first case, end case (exclusive), results, progress. */
  public static void main(String[] args) throws IOException {
    Path seed = Path.of(args[0]);
    Path work = Path.of(args[1]);
    int first = Integer.parseInt(args[2]);
    int end = Integer.parseInt(args[3]);
    Path results = Path.of(args[4]);
    Path progress = Path.of(args[5]);
    for (int number = first; number < end; number++) {
      Files.writeString(
          progress,
          number + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND,
          StandardOpenOption.SYNC);
      JsonObject result = runCase(seed, work, number);
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

  static String command(int number) {
    return number % 2 == 0 ? "penalty" : "regularize";
  }

  /** The arguments of case {@code number}'s command on {@code model}. */
  static List<String> arguments(int number, Path model, Path out) {
    return number % 2 == 0
        ? List.of("penalty", "--json", "--model", model.toString())
        : List.of("regularize", "--model", model.toString(), "--out", out.toString());
  }

  private static JsonObject runCase(Path seed, Path work, int number) throws IOException {
    Path caseDir = Files.createDirectories(work.resolve("case-" + number));
    Path model = caseDir.resolve("model");
    Path out = caseDir.resolve("out");
    ModelMutator.Mutation mutation = ModelMutator.mutate(seed, model, number);
    Map<String, String> before = TestModels.digest(model);
    long start = System.nanoTime();
    CliRun run = CliRun.of(arguments(number, model, out).toArray(String[]::new));
    JsonObject result = new JsonObject();
    result.addProperty("case", number);
    result.addProperty("command", command(number));
    result.addProperty("file", mutation.file());
    result.addProperty("kind", mutation.kind());
    result.addProperty("detail", mutation.detail());
    result.addProperty("exit", run.exitCode());
    result.addProperty("out", run.out());
    result.addProperty("err", run.err());
    result.addProperty("millis", (System.nanoTime() - start) / 1_000_000);
    result.addProperty("inputUnchanged", before.equals(TestModels.digest(model)));
    result.addProperty(
        "written",
        Files.isDirectory(out)
            && Files.isRegularFile(out.resolve("saved_model.pb"))
            && Files.isRegularFile(out.resolve("variables/variables.index")));
    result.add("entries", new Gson().toJsonTree(TestModels.listing(caseDir)));
    TestModels.delete(caseDir);
    return result;
  }
}
