package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every {@code ```java} block of README.md and docs/*.md appears verbatim (up to indentation and
 * trailing whitespace) in a test source under {@code *}{@code /src/test/java}, so that every
 * documented example is compiled and run by a test. A block's {@code import} lines may sit anywhere
 * in that file (they head it); the rest must appear there as consecutive lines.
 */
class DocumentedExamplesTest {

  /** One fenced Java block: where it is and its lines. */
  record Block(Path document, int ordinal, int count, int line, List<String> lines) {
    String where() {
      return document + ", java block " + ordinal + " of " + count + " (line " + line + ")";
    }
  }

  /** A test source file and its lines with indentation and trailing whitespace removed. */
  record Source(Path path, List<String> lines, Set<String> lineSet) {
    /**
     * Whether this file has {@code importLine}, or needs none because the imported class is in the
     * file's own package (google-java-format removes such an import).
     */
    boolean imports(String importLine) {
      if (lineSet.contains(importLine)) {
        return true;
      }
      String imported = importLine.substring("import ".length(), importLine.length() - 1);
      String importedPackage = imported.substring(0, Math.max(0, imported.lastIndexOf('.')));
      return lineSet.contains("package " + importedPackage + ";");
    }

    static Source read(Path path) {
      try {
        List<String> lines = Files.readAllLines(path).stream().map(String::strip).toList();
        return new Source(path, lines, new HashSet<>(lines));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @TestFactory
  Stream<DynamicTest> everyJavaBlockOfTheDocsIsHeldVerbatimByATestSource() throws IOException {
    List<Source> sources = testSources();
    assertFalse(sources.isEmpty(), "test sources found under */src/test/java");
    List<Block> blocks = new ArrayList<>();
    for (Path document : documents()) {
      blocks.addAll(javaBlocks(document, Files.readAllLines(document)));
    }
    assertTrue(
        blocks.stream().anyMatch(b -> b.document().equals(Path.of("README.md"))),
        "README.md shows at least one Java example");
    return blocks.stream()
        .map(
            block ->
                dynamicTest(
                    block.where(),
                    () ->
                        assertTrue(
                            holder(block, sources).isPresent(), () -> missing(block, sources))));
  }

  @Test
  void aBlockThatNoTestHoldsIsReportedWithItsFileAndPosition() {
    List<String> markdown =
        List.of(
            "# Doc",
            "```java",
            "int held = 1;",
            "```",
            "text",
            "```java",
            "int documentedOnly = 2;",
            "```");
    Source source =
        new Source(Path.of("T.java"), List.of("int held = 1;"), Set.of("int held = 1;"));
    List<Block> blocks = javaBlocks(Path.of("docs", "doc.md"), markdown);

    assertEquals(2, blocks.size());
    assertTrue(holder(blocks.get(0), List.of(source)).isPresent());
    assertFalse(holder(blocks.get(1), List.of(source)).isPresent());
    String message = missing(blocks.get(1), List.of(source));
    assertTrue(
        message.startsWith(Path.of("docs", "doc.md") + ", java block 2 of 2 (line 6)"), message);
    assertTrue(message.contains("int documentedOnly = 2;"), message);
  }

  @Test
  void indentationAndTrailingWhitespaceDoNotCountButLineOrderAndImportsDo() {
    Source source =
        Source.read(Path.of("tf-l1l2/src/test/java/io/github/tfl1l2/DocumentedExamplesTest.java"));
    Block indented = block("  private static final class Probe {   ", "    int a = 1;", "  }");
    Block reordered = block("int a = 1;", "private static final class Probe {");
    Block unknownImport = block("import java.util.Deque;", "int a = 1;");
    Block knownImport = block("import java.util.Optional;", "int a = 1;");

    assertTrue(holder(indented, List.of(source)).isPresent());
    assertFalse(holder(reordered, List.of(source)).isPresent());
    assertFalse(holder(unknownImport, List.of(source)).isPresent());
    assertTrue(holder(knownImport, List.of(source)).isPresent());
  }

  @Test
  void anImportOfTheTestsOwnPackageIsImpliedByItsPackage() {
    Source source =
        Source.read(Path.of("tf-l1l2/src/test/java/io/github/tfl1l2/DocumentedExamplesTest.java"));

    assertTrue(
        holder(block("import io.github.tfl1l2.L1L2;", "int a = 1;"), List.of(source)).isPresent());
    assertFalse(
        holder(block("import io.github.tfl1l2.xla.XlaScope;", "int a = 1;"), List.of(source))
            .isPresent());
  }

  /** A class for the test above to find: its lines below are what the probe blocks match. */
  private static final class Probe {
    int a = 1;
  }

  private static Block block(String... lines) {
    return new Block(Path.of("probe.md"), 1, 1, 1, List.of(lines));
  }

  /** The first test source that holds {@code block}, if any. */
  static Optional<Path> holder(Block block, List<Source> sources) {
    List<String> lines = block.lines().stream().map(String::strip).toList();
    List<String> imports = lines.stream().filter(l -> l.startsWith("import ")).toList();
    List<String> body =
        trimBlankEnds(lines.stream().filter(l -> !l.startsWith("import ")).toList());
    return sources.stream()
        .filter(s -> imports.stream().allMatch(s::imports))
        .filter(s -> Collections.indexOfSubList(s.lines(), body) >= 0)
        .map(Source::path)
        .findFirst();
  }

  private static String missing(Block block, List<Source> sources) {
    List<String> lines = block.lines().stream().map(String::strip).toList();
    List<String> body =
        trimBlankEnds(lines.stream().filter(l -> !l.startsWith("import ")).toList());
    String first = body.isEmpty() ? "" : body.get(0);
    List<Path> withFirstLine =
        sources.stream().filter(s -> s.lineSet().contains(first)).map(Source::path).toList();
    return block.where()
        + " is not held verbatim by any test source under */src/test/java (put it, with its"
        + " imports, in a test that runs it). Its first line: \""
        + first
        + "\""
        + (withFirstLine.isEmpty()
            ? "; no test source has that line"
            : "; test sources with that line, where the rest differs: " + withFirstLine)
        + ".";
  }

  private static List<String> trimBlankEnds(List<String> lines) {
    int from = 0;
    int to = lines.size();
    while (from < to && lines.get(from).isEmpty()) {
      from++;
    }
    while (to > from && lines.get(to - 1).isEmpty()) {
      to--;
    }
    return lines.subList(from, to);
  }

  /** The fenced {@code java} blocks of one Markdown document, in order. */
  static List<Block> javaBlocks(Path document, List<String> markdown) {
    List<int[]> spans = new ArrayList<>();
    for (int i = 0; i < markdown.size(); i++) {
      if (markdown.get(i).strip().equals("```java")) {
        int end = i + 1;
        while (end < markdown.size() && !markdown.get(end).strip().startsWith("```")) {
          end++;
        }
        spans.add(new int[] {i, end});
        i = end;
      }
    }
    List<Block> blocks = new ArrayList<>();
    for (int b = 0; b < spans.size(); b++) {
      int[] span = spans.get(b);
      blocks.add(
          new Block(
              document,
              b + 1,
              spans.size(),
              span[0] + 1,
              List.copyOf(markdown.subList(span[0] + 1, Math.min(span[1], markdown.size())))));
    }
    return blocks;
  }

  /** README.md and every Markdown file of docs/, relative to the repository root. */
  private static List<Path> documents() throws IOException {
    List<Path> documents = new ArrayList<>(List.of(Path.of("README.md")));
    try (Stream<Path> docs = Files.list(Path.of("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(documents::add);
    }
    return documents;
  }

  /** Every Java file under {@code <module>/src/test/java} of the repository root. */
  private static List<Source> testSources() throws IOException {
    List<Source> sources = new ArrayList<>();
    try (Stream<Path> modules = Files.list(Path.of(""))) {
      for (Path module : modules.sorted().toList()) {
        Path tests = module.resolve("src/test/java");
        if (Files.isDirectory(tests)) {
          try (Stream<Path> files = Files.walk(tests)) {
            files
                .filter(p -> p.toString().endsWith(".java"))
                .sorted()
                .map(Source::read)
                .forEach(sources::add);
          }
        }
      }
    }
    return sources;
  }
}
