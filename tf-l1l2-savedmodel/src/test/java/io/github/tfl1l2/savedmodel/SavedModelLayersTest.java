package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The savedmodel module's layering (docs/design.md, "The savedmodel module"): the packages below
 * the facade never name its classes with behaviour, and {@code load} knows neither {@code export}
 * nor {@code inline}, which know nothing of each other.
 */
class SavedModelLayersTest {
  private static final Path SOURCES =
      Path.of("tf-l1l2-savedmodel", "src", "main", "java", "io", "github", "tfl1l2", "savedmodel");

  /** The facade's classes that call down; the value types may be used everywhere. */
  private static final List<String> FACADE =
      List.of(
          "LoadedSavedModel",
          "TrainableSavedModel",
          "RegularizedSavedModel",
          "RegularizationSignature");

  /** The sibling packages each package must not name. */
  private static final Map<String, List<String>> FORBIDDEN_SIBLINGS =
      Map.of(
          "load", List.of("export", "inline"),
          "export", List.of("inline"),
          "inline", List.of("export"));

  private static List<String> violations(String pkg) {
    List<String> found = new ArrayList<>();
    try (Stream<Path> files = Files.list(SOURCES.resolve(pkg))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        String text = Files.readString(file);
        for (String type : FACADE) {
          if (text.contains("io.github.tfl1l2.savedmodel." + type)
              || text.matches("(?s).*\\b" + type + "\\.\\w+\\(.*")) {
            found.add(file.getFileName() + " names " + type);
          }
        }
        for (String sibling : FORBIDDEN_SIBLINGS.get(pkg)) {
          if (text.contains("io.github.tfl1l2.savedmodel." + sibling + ".")) {
            found.add(file.getFileName() + " names the package " + sibling);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return found;
  }

  @Test
  void theLoadPackageUsesNeitherTheFacadeNorItsSiblings() {
    assertEquals(List.of(), violations("load"));
  }

  @Test
  void theExportPackageUsesNeitherTheFacadeNorTheInliner() {
    assertEquals(List.of(), violations("export"));
  }

  @Test
  void theInlinePackageUsesNeitherTheFacadeNorTheExport() {
    assertEquals(List.of(), violations("inline"));
  }
}
