@testable import ModelStorage
import Testing

/// AWS's published Signature Version 4 examples, checked step by step.
@Suite(.timeLimit(.minutes(5))) struct SigV4SignerTests {
    /// The test suite's credentials, region, service and time (2015-08-30T12:36:00Z).
    let suite = SigV4Signer(
        credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service"
    )
    let suiteDate = AmzDate(secondsSince1970: 1_440_938_160)

    @Test func getVanilla() {
        let signature = suite.sign(
            method: "GET", canonicalURI: "/", query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: suiteDate
        )
        #expect(signature.canonicalRequest == """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(signature.stringToSign == """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """)
        #expect(signature.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(signature.authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func queryParametersAreSortedByName() {
        let signature = suite.sign(
            method: "GET", canonicalURI: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: suiteDate
        )
        #expect(signature.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2] == "Param1=value1&Param2=value2")
        #expect(signature.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func utf8PathIsPercentEncodedOnce() {
        let path = PercentEncoding.encode("/\u{1234}", keepingSlashes: true)
        #expect(path == "/%E1%88%B4")
        let signature = suite.sign(
            method: "GET", canonicalURI: path, query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: suiteDate
        )
        #expect(signature.signature == "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85")
    }

    /// The S3 documentation's GetObject example (first 10 bytes of examplebucket/test.txt).
    @Test func s3GetObjectExample() {
        let signer = SigV4Signer(
            credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "s3"
        )
        let signature = signer.sign(
            method: "GET", canonicalURI: "/test.txt", query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash), ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash, date: AmzDate(secondsSince1970: 1_369_353_600)
        )
        #expect(signature.stringToSign.hasSuffix("\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
        #expect(signature.signedHeaders == "host;range;x-amz-content-sha256;x-amz-date")
        #expect(signature.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func headerValuesAreTrimmedAndRepeatedNamesJoined() {
        let (canonical, signed) = SigV4Signer.canonicalHeaders([
            ("My-Header1", "  value1  "), ("my-header1", "a   b\tc"), ("Host", "h"),
        ])
        #expect(canonical == "host:h\nmy-header1:value1,a b c\n")
        #expect(signed == "host;my-header1")
    }

    @Test func queryValuesAreEncodedLikeS3Expects() {
        #expect(SigV4Signer.canonicalQuery([("prefix", "models/a b+c"), ("list-type", "2")])
            == "list-type=2&prefix=models%2Fa%20b%2Bc")
    }

    @Test(arguments: [
        (Int64(0), "19700101T000000Z"),
        (1_440_938_160, "20150830T123600Z"),
        (951_782_400, "20000229T000000Z"),
        (4_102_444_799, "20991231T235959Z"),
    ])
    func amzDateFormatsUTC(seconds: Int64, stamp: String) {
        let date = AmzDate(secondsSince1970: seconds)
        #expect(date.stamp == stamp)
        #expect(date.day == String(stamp.prefix(8)))
    }
}
